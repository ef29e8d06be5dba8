"""Machine drivers: create, delete and list the machines of a worker pool."""
