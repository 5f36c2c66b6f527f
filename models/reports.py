"""Reads for the digest: fired rungs, snapshots (the chart history) and the statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.driver_rows import Days, driver_rows
from models.report_tables import DigestSnapshot
from models.tables import Escalation, LedgerEntry, Milestone, Unit, utcnow


def fired_rungs(session: Session, *, today: dt.date) -> dict[int, dict[str, dt.date]]:
    """entry id → {rung kind: first date it fired}, for rungs fired on or before ``today``."""
    # The driver's tuples (models/driver_rows: SQLAlchemy's per-row processing doubled this
    # read at 123,000 rungs); the few distinct kinds and dates are kept once each.
    rows = driver_rows(session,
        select(col(Escalation.entry_id), col(Escalation.kind), func.min(col(Escalation.fired_on)))
        .join(LedgerEntry, col(LedgerEntry.id) == col(Escalation.entry_id))
        .where(col(Escalation.fired_on) <= today, col(LedgerEntry.archived_at).is_(None))
        .group_by(col(Escalation.entry_id), col(Escalation.kind))
    )
    out: dict[int, dict[str, dt.date]] = {}
    one: Any = {}.setdefault
    days = Days()
    for entry_id, kind, fired_on in rows:
        out.setdefault(entry_id, {})[one(kind, kind)] = days[fired_on]
    return out


def assumed_milestones(session: Session) -> frozenset[str]:
    """Milestones whose date is a coordinators' inference (source: assumed): never counted late."""
    return frozenset(session.execute(
        select(col(Milestone.id)).where(col(Milestone.source) == "assumed")).scalars())


def task_only_units(session: Session) -> frozenset[str]:
    """Units that receive tasks but are never supervised or named (role: task-only)."""
    return frozenset(session.execute(select(col(Unit.id)).where(col(Unit.role) == "task-only")).scalars())


def digest_number(session: Session, *, as_of: dt.date) -> int:
    """The 期号 of the digest of ``as_of``: its place among the digests so far (1, 2, …)."""
    earlier = session.execute(
        select(func.count()).select_from(DigestSnapshot).where(col(DigestSnapshot.as_of) < as_of)
    ).scalar_one()
    return int(earlier) + 1


def milestone_origins(session: Session) -> dict[str, str]:
    """Milestones duban created itself (整改, 约谈, 请示): id → origin."""
    rows = session.execute(select(col(Milestone.id), col(Milestone.origin)).where(col(Milestone.origin) != "plan"))
    return {mid: origin for mid, origin in rows}


def previous_snapshot_date(session: Session, *, before: dt.date) -> dt.date | None:
    return session.execute(
        select(func.max(col(DigestSnapshot.as_of))).where(col(DigestSnapshot.as_of) < before)
    ).scalar_one_or_none()


def save_snapshot(session: Session, *, as_of: dt.date, data: dict[str, Any]) -> None:
    """One snapshot per date: running the digest again the same day replaces it."""
    snapshot = session.execute(
        select(DigestSnapshot).where(col(DigestSnapshot.as_of) == as_of)
    ).scalar_one_or_none()
    if snapshot is None:
        snapshot = DigestSnapshot(as_of=as_of)
    snapshot.overall = data["overall"]
    snapshot.tasks = data["tasks"]
    snapshot.units = data["units"]
    snapshot.supervised = data["supervised"]
    snapshot.interview_proposals = data["interview_proposals"]
    snapshot.updated_at = utcnow()
    session.add(snapshot)
    session.flush()


def snapshot_history(session: Session, *, until: dt.date) -> list[tuple[dt.date, dict[str, Any]]]:
    rows = session.execute(
        select(DigestSnapshot).where(col(DigestSnapshot.as_of) <= until).order_by(col(DigestSnapshot.as_of))
    ).scalars()
    return [(s.as_of, {"overall": s.overall, "tasks": s.tasks, "units": s.units,
                       "supervised": s.supervised, "interview_proposals": s.interview_proposals})
            for s in rows]


@dataclass
class Statistics:
    """Citywide totals of the case statistics table for one period, and who has not reported."""

    period: str
    label: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # {key, label, value}
    reported: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    incomplete: dict[str, str] = field(default_factory=dict)  # unit → what is wrong
    available: bool = True
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"period": self.period, "label": self.label, "rows": self.rows,
                "reported": self.reported, "missing": self.missing,
                "incomplete": self.incomplete, "available": self.available, "note": self.note}


def stats_period(reports: Sequence[tuple[str, dt.date]], today: dt.date) -> str | None:
    """The latest period whose statistics report is due by ``today`` (else the first one).

    ``reports`` is (period, due) of the plan's reports that carry the statistics table.
    """
    if not reports:
        return None
    ordered = sorted(reports, key=lambda r: r[1])
    due = [period for period, day in ordered if day <= today]
    return due[-1] if due else ordered[0][0]


def statistics(session: Session, *, period: str, names: dict[str, str]) -> Statistics:
    """全市合计 of the period's statistics tables (from the intake feature) and who is missing."""
    from models.intake import citywide_totals, stats_status
    from plan import stats_table as st

    totals = citywide_totals(session, period)
    status = stats_status(session, period)
    rows = [{"key": row.key, "category": row.category.name, "label": row.label,
             "value": st.display(totals.figures.get(row.key))} for row in st.ROWS]
    incomplete = {u: _missing_cells(f) for u, f in status.items() if f is not None and _missing_cells(f)}
    return Statistics(period=period, label=st.PERIOD_LABELS.get(period, period), rows=rows,
                      reported=[names.get(u, u) for u in totals.reported],
                      missing=[names.get(u, u) for u in totals.missing],
                      incomplete={names.get(u, u): v for u, v in incomplete.items()})


def _missing_cells(figures: dict[str, Any]) -> str:
    from plan import stats_table as st

    blank = [f"{row.category.name}·{row.label}" for row in st.ROWS if row.key not in figures]
    return f"{len(blank)} 格未填：" + "、".join(blank[:3]) + ("…" if len(blank) > 3 else "") if blank else ""


def stats_states(session: Session, *, period: str) -> dict[str, tuple[str, str]]:
    """unit → (complete | incomplete | missing, detail) for the evaluation's stats rule."""
    from models.intake import stats_status
    from plan import stats_table as st

    out: dict[str, tuple[str, str]] = {}
    for unit_id, figures in stats_status(session, period).items():
        if figures is None:
            out[unit_id] = ("missing", f"（{st.PERIOD_LABELS.get(period, period)}）")
        else:
            blank = _missing_cells(figures)
            out[unit_id] = ("incomplete", f"（{blank}）") if blank else ("complete", "")
    return out
