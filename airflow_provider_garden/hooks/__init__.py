"""GardenHook: an Airflow connection turned into a kube/ client."""
