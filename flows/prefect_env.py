"""Quiet, local defaults for Prefect, applied before Prefect is first imported.

Measured in STACK-NOTES: these keep a normal run free of telemetry tracebacks and
"Error flushing events" noise.  A value the user already set always wins.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from models.db import var_dir

PREFECT_LOGGERS = {"prefect", "uvicorn", "fastapi", "alembic"}  # alembic: Prefect's own DB
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


class _PrefectLogFile(logging.FileHandler):
    """Prefect's own records (a failed flow's traceback) go to ``var/log/duban.log``: the
    operator sees duban's one-line ``错误：…/提示：…`` instead of 40 lines of traceback."""

    def __init__(self) -> None:
        path = var_dir() / "log" / "duban.log"
        super().__init__(path, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # a log that cannot be written must not add noise or stop the command


def _from_prefect(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in PREFECT_LOGGERS


def setup_cli_logging() -> None:
    """Warnings to stderr as plain lines, except Prefect's, which go to the log file."""
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(message)s"))
    console.addFilter(lambda record: not _from_prefect(record))
    log_file = _PrefectLogFile()
    log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log_file.addFilter(_from_prefect)
    logging.basicConfig(level=logging.WARNING, handlers=[console, log_file])
