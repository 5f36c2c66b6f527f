"""A closed stdout (``duban status | head``) is a normal end: exit 141 without a complaint.

Its own module, free of typer and rich, so that :mod:`flows.cli` can end a replayed
``duban --help`` the same way before any of the command machinery is imported.
"""

from __future__ import annotations

import os
import sys

# 128 + SIGPIPE, what a shell reports for a command whose reader went away (``| head``).
BROKEN_PIPE_EXIT = 141


def quiet_broken_pipe() -> None:
    """The reader of our stdout is gone (``duban status --json | head``): that is a normal
    end.  Point stdout at /dev/null so Python's final flush cannot complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
