"""When jobs run: ``duban serve`` (APScheduler in one process), its triggers, and the
Prefect deployments ``duban deploy`` writes from the same schedules."""
