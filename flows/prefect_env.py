"""Quiet, local defaults for Prefect, applied before Prefect is first imported.

Measured in STACK-NOTES: these keep a normal run free of telemetry tracebacks and
"Error flushing events" noise.  A value the user already set always wins.
"""

from __future__ import annotations

import os

from models.db import var_dir

QUIET_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


def configure_prefect() -> None:
    os.environ.setdefault("PREFECT_HOME", str((var_dir() / "prefect").resolve()))
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
