"""The `garden` command for people."""
