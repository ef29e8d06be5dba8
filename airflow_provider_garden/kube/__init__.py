"""Typed access to Shoots, Leases, Secrets and Nodes on a plain kubernetes ApiClient."""
