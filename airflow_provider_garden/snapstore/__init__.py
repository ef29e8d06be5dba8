"""Where etcd snapshots live: a four-method protocol and one module per backend."""
