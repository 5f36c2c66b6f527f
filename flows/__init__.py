"""Prefect flows and the ``duban`` command line."""
