"""Build, image, process and network management of the local seed cluster."""
