"""Pure logic: imports neither airflow nor kubernetes; plain data in, plain data out."""
