"""A plan of another bureau and year runs with no trace of ours (issue #12: the organisation
is data).  The shipped plan is rewritten as a 2025 plan of a made-up municipal bureau; every
message and document duban writes for it must name that bureau and year only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from tests.conftest import PLAN

OURS = ("上海市知识产权局", "沪知局", "2024")


def _other_plan(folder: Path) -> Path:
    text = PLAN.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^\s*#.*\n", "", text)  # comments are the coordinators' notes, not output
    text = (text.replace("上海市知识产权局", "杭州市知识产权局").replace("沪知局保〔2024〕15号", "杭知局保〔2025〕3号")
            .replace("2024年", "2025年").replace("2024-", "2025-"))
    path = folder / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def other(workdir: Path):
    from models.db import session_scope
    from models.sync import sync_ledger
    from plan import load_plan

    plan = load_plan(_other_plan(workdir))
    with session_scope() as session:
        sync_ledger(session, plan)
    return plan


def test_mail_and_documents_name_only_the_plans_own_bureau_and_year(other, workdir: Path) -> None:
    from flows.steps import deliver_step, sweep_step
    from models.db import session_scope
    from models.tables import OutboxMessage
    from notifications.compose import materialise

    today = dt.date(2025, 7, 14)
    sweep_step(other, today=today)
    deliver_step(other, today=today)
    with session_scope() as session:
        rows = [(row.sender, row.subject, rendered.text, rendered.html)
                for row in session.scalars(select(OutboxMessage)) for rendered in [materialise(row)]]
        kinds = set(session.scalars(select(OutboxMessage.kind)))
    assert {"unit-notice", "coordinator-list", "interview-proposal"} <= kinds
    for row in rows:
        for part in row:
            for word in OURS:
                assert word not in part, (word, part[:200])
    assert any("杭州市知识产权局" in sender for sender, *_ in rows)
    assert any("杭知局保〔2025〕3号" in subject for _, subject, *_ in rows)
    sheets = list((workdir / "var" / "reports" / today.isoformat() / "supervision").iterdir())
    assert sheets and all("〔2025〕" in p.name for p in sheets)
    text = "\n".join(p.text for p in docx.Document(str(sheets[0])).paragraphs)
    assert "杭州市知识产权局" in text and not any(word in text for word in OURS)


def test_help_and_templates_name_no_bureau() -> None:
    """The organisation is data: help text and templates never name a bureau or its 文号."""
    from typer.main import get_command

    from flows.cli import app
    from tests.conftest import ROOT
    from tests.test_cli_help import command_paths

    root = get_command(app)
    texts = [root.help or ""]
    for path in command_paths():
        command = root
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        texts.append(" ".join(filter(None, [command.help, *(getattr(p, "help", "") or "" for p in command.params)])))
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "notifications" / "templates").iterdir()]
    for text in texts:
        for word in ("上海", "沪知局", "知识产权保护处", "2024年"):
            assert word not in text, (word, text[:120])
