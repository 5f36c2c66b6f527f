"""Today in Beijing time, the plan's timezone: shared by the flows and the command line.

It lives here, not in the CLI's console module, because flows (cycle, digest, evaluate)
need it too and flows never import the CLI.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()
