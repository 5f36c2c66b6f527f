"""The 简报 counts documents: the headline against an independent count of the ledger, the
task lights in July, the one-page A4 PDF, and the digest email carrying both attachments."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
from email import policy
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select, text

from models.db import get_engine, session_scope
from plan.digest_rules import Progress
from plan.status import Light, State
from tests.test_digest import digest_json

pytest_plugins = ["tests.report_fixtures"]

NOW = dt.datetime(2024, 7, 15, 9, 0, tzinfo=dt.UTC)
PDF_NAME = "督办简报第3期（截至2024年7月15日）.pdf"
XLSX_NAME = "督办台账（截至2024年7月15日）.xlsx"

# Open, enforceable documents (not progress rows that travel with a report) that reporting
# units owed before 2024-07-15: counted straight from the tables, not through duban's code.
MISSING_SQL = """
SELECT count(*) FROM ledger_entry e
JOIN milestone m ON m.id = e.milestone_id
JOIN unit u ON u.id = e.unit_id
WHERE e.archived_at IS NULL AND e.submitted_on IS NULL AND e.status != 'waived'
  AND m.report_id IS NULL AND m.source != 'assumed' AND u.role = 'reporting'
  AND e.due < '2024-07-15'
"""


def test_headline_counts_missing_documents_as_the_ledger_does(season, cli):
    data = digest_json(cli)
    with session_scope() as session:
        missing = session.execute(text(MISSING_SQL)).scalar_one()
    assert data["documents"]["missing"] == missing == 2
    assert data["headline"] == ("截至2024年7月15日，各单位应报文件 38 件：按时报送 32 件，"
                                "逾期报送 4 件，逾期未报 2 件。")
    # Rows would have said more: jingan's half-year progress rows, the assumed campaign.
    assert data["overall"]["overdue"] > missing
    assert data["documents"]["assumed_open"] == 2
    assert [a["unit_id"] for a in data["attention"]] == ["jingan"]
    assert data["attention"][0]["reason"] == ("未报送贯彻落实《实施方案》的具体工作计划、半年度工作总结，"
                                              "最长逾期27个工作日；已提出约谈建议，请决定是否约谈")
    # Task-only units are shown, never on a blame list.
    offices = {u["unit"] for u in data["units"] if u["task_only"]}
    assert offices == {"policy-division", "utilization-division", "public-service-division"}
    blamed = {i["unit"] for i in data["supervise"] + data["interview"]} | {a["unit_id"] for a in data["attention"]}
    assert not blamed & offices


def test_task_lights_in_july_compare_with_what_was_due_by_now(season, cli):
    tasks = {t["task"]: t for t in digest_json(cli)["tasks"]}
    # One unit (jingan) of 18 missed the half-year summary that carries every task's progress.
    assert (tasks[1]["due_now"], tasks[1]["done_now"], tasks[1]["light"]) == (18, 17, "green")
    assert tasks[1]["share"] < 0.5  # the whole year is not what July is judged against
    assert [n for n, t in tasks.items() if t["light"] == "red"] == []


def test_task_light_thresholds():
    def light(done: int, due: int) -> Light:
        p = Progress()
        for i in range(due):
            p.add(State.ON_TIME if i < done else State.OVERDUE, due_now=True, enforceable=True)
        p.add(State.OVERDUE, due_now=True, enforceable=False)  # assumed: never counted
        p.add(State.NOT_DUE, due_now=False, enforceable=True)
        return p.light

    assert [light(9, 10), light(8, 10), light(7, 10), light(6, 10)] == [
        Light.GREEN, Light.AMBER, Light.AMBER, Light.RED]
    assert Progress().light is Light.GREY


def test_the_pdf_brief_is_one_a4_page(season, cli):
    files = digest_json(cli, "--no-email")["files"]
    reader = PdfReader(files["brief"])
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595) <= 1 and abs(float(box.height) - 842) <= 1
    page = "".join(reader.pages[0].extract_text().split())  # the masthead is letter-spaced
    for words in ("督办简报", "第3期", "逾期未报2件", "静安区知识产权局", "建议措施"):
        assert words in page, words


def _deliver(workdir: Path):
    from notifications.delivery import deliver_pending
    from notifications.folder import FolderTransport

    return deliver_pending(engine_or_session_factory=get_engine(),
                           transport=FolderTransport(workdir / "var" / "outbox"), now=NOW)


def _attachments(session) -> list[dict]:
    """The stored attachment records (a JSON column: decoded alike on SQLite and PostgreSQL)."""
    from models.tables import OutboxMessage

    return session.execute(select(OutboxMessage.attachments)
                           .where(OutboxMessage.key == "digest/2024-07-15")).scalar_one()


def test_the_digest_email_carries_the_pdf_and_the_workbook(season, cli, workdir):
    digest_json(cli)  # a second run the same day rewrites the reports; the queued email keeps its copies
    _deliver(workdir)
    [eml] = (workdir / "var" / "outbox").glob("digest_2024-07-15-*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    assert list(parts) == [PDF_NAME, XLSX_NAME]
    assert parts[PDF_NAME].get_content_type() == "application/pdf"
    with session_scope() as session:
        stored = _attachments(session)
    for record, name in zip(stored, (PDF_NAME, XLSX_NAME), strict=True):
        assert record["name"] == name and not record["path"].startswith("/")
        assert hashlib.sha256(parts[name].get_content()).hexdigest() == record["sha256"]
    assert len(PdfReader(__import__("io").BytesIO(parts[PDF_NAME].get_content())).pages) == 1
    body = message.get_body(("plain",)).get_content()
    assert "var/" not in body and "outbox send" not in body


def test_a_changed_attachment_is_refused(season, cli, workdir):
    with session_scope() as session:
        stored = _attachments(session)
    frozen = workdir / "var" / stored[1]["path"]
    frozen.write_bytes(frozen.read_bytes() + b"x")
    _deliver(workdir)
    assert not list((workdir / "var" / "outbox").glob("digest_2024-07-15-*.eml"))
    with session_scope() as session:
        state, error = session.execute(text(
            "SELECT state, last_error FROM outbox WHERE key = 'digest/2024-07-15'")).one()
    assert state == "failed"
    assert error == (f"附件「{XLSX_NAME}」（var/{stored[1]['path']}）在入队后被改动（sha256 不符），"
                     "拒绝发送与入队时不同的内容；恢复原文件后用 duban outbox retry 重发")


def test_every_command_the_digest_names_exists(season, cli):
    result = cli("digest", "--today", "2024-07-16")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == ("邮件：已放入发件箱（附简报 PDF 和 Excel 台账），"
                                              "下一次 duban run 时发出；duban outbox 可查看。")
    for command in (("run", "--help"), ("outbox", "--help"), ("outbox", "retry", "--help")):
        assert cli(*command).exit_code == 0, command
