"""Verbs run inside operator pods by `garden-agent`; no Airflow here."""
