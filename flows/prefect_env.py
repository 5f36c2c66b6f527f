"""Quiet, local defaults for Prefect, applied before Prefect is first imported.

Measured in STACK-NOTES: these keep a normal run free of telemetry tracebacks and
"Error flushing events" noise.  A value the user already set always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    # Prefect cannot create a home whose parent is missing (a fresh folder without var/):
    # its local server would then time out after a minute.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
