"""Read the contact mailbox: record what units emailed, then file the messages away.

For each message not seen before (by Message-ID and by folder/UIDVALIDITY/UID):
1. the sender's address names the unit (:mod:`plan.mail_rules`);
2. its attachments (forwarded messages opened) are staged as ``<tmp>/<unit id>/<name>``
   and go through :func:`flows.inbox.process_inbox`, the same identification and checks
   as inbox files.  Naming rule: a spreadsheet keeps its own name (tables are recognised
   by content); any other attachment whose name does not already contain the subject is
   staged as ``<subject>-<name>``, so 「徐汇区2024年上半年工作总结」+「附件1.pdf」 is read as
   「徐汇区2024年上半年工作总结-附件1.pdf」.  Without a subject the first line of the text
   body stands in for it;
3. the outcome is committed in ``mail_message`` — only then is the message moved to
   :data:`notifications.imap.DONE_FOLDER` on the server.

A crash between 2 and 3 leaves the message in the mailbox; the next fetch finds the same
file hashes already recorded (nothing doubles).  A crash between 3 and the move leaves a
committed row without ``filed_at``; the next fetch only moves it.  Mail that cannot be
placed stays in the mailbox unread, is saved as ``var/inbox/unmatched/联系邮箱/*.eml`` (with the
reason and the ``duban inbox assign`` command beside it, so the coordinator's daily email lists it)
and is listed by ``duban mail fetch`` and :func:`models.mail.unplaced_messages`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flows.inbox import process_inbox, write_reason
from flows.inbox_waiting import UNMATCHED
from flows.receipts import RECORDED
from models import ledger, mail
from models.db import session_scope, var_dir
from notifications.imap import ContactMailbox
from notifications.imap_settings import ImapSettings
from plan.errors import DubanError
from plan.mail_parse import Attachment, ParsedMessage, parse_message
from plan.mail_rules import match_sender
from plan.model import Plan

SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".csv"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
NOT_CONFIGURED = "没有设置联系邮箱（环境变量 DUBAN_IMAP_HOST）"

# Called after a message's outcome is committed and before it is moved on the server.
# Tests replace it to simulate a crash in exactly that window.
def _no_hook(uid: int) -> None:
    return None


after_commit: Callable[[int], None] = _no_hook


@dataclass
class MailOutcome:
    uid: int
    message_id: str
    sender: str
    subject: str
    unit: str | None
    outcome: str  # recorded | partial | unplaced | seen (already recorded earlier)
    reason: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MailReport:
    mailbox: str
    today: dt.date
    messages: list[MailOutcome] = field(default_factory=list)
    filed: int = 0  # messages moved to the done folder in this fetch

    def by(self, *outcomes: str) -> list[MailOutcome]:
        return [m for m in self.messages if m.outcome in outcomes]

    def as_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "today": self.today.isoformat(),
                "recorded": [asdict(m) for m in self.by("recorded", "partial")],
                "unplaced": [asdict(m) for m in self.by("unplaced", "partial")],
                "already_seen": len(self.by("seen")), "filed": self.filed}


def _safe(text: str) -> str:
    text = _UNSAFE.sub("_", text).replace("..", "_").strip(" .")
    return text[:120]


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def staged_name(att: Attachment, *, context: str) -> str:
    """The file name identification sees for an attachment (see the module docstring)."""
    name = _safe(att.name) or "附件"
    subject = _safe(att.subject or context)[:60]
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    if not subject or suffix in SPREADSHEETS or _norm(subject) in _norm(stem):
        return name
    return f"{subject}-{name}"


def _stage(folder: Path, parsed: ParsedMessage, unit_id: str) -> dict[str, Attachment]:
    """Write the attachments as ``folder/<unit>/<name>``; returns staged rel path → attachment."""
    where = folder / unit_id
    where.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Attachment] = {}
    for att in parsed.attachments:
        name = staged_name(att, context=parsed.body_line)
        target, n = where / name, 2
        while target.exists():
            target = where / f"{Path(name).stem}（{n}）{Path(name).suffix}"
            n += 1
        target.write_bytes(att.data)
        staged[f"{unit_id}/{target.name}"] = att
    return staged


# Unplaced mail waits beside unmatched inbox files, in a folder of its own.
MAIL_FOLDER = "联系邮箱"


def _save_unplaced(raw: bytes, *, today: dt.date, uid: int, digest: str, reason: str,
                   origin: str, unit: str | None) -> Path:
    """Park the message in the inbox's unmatched/ folder, where the coordinator's daily email
    lists it with the one command that records it (``duban inbox assign``)."""
    inbox = var_dir() / "inbox"
    path = inbox / UNMATCHED / MAIL_FOLDER / f"{today.isoformat()}-{uid}-{digest[:8]}.eml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    write_reason(path, inbox=inbox, origin=origin, today=today, reason=reason, unit=unit)
    return path


class _Fetch:
    def __init__(self, *, plan: Plan, today: dt.date, actor: str, box: ContactMailbox) -> None:
        self.plan, self.today, self.actor, self.box = plan, today, actor, box
        self.folder = box.settings.folder
        self.report = MailReport(box.settings.describe(), today)

    def place(self, uid: int, raw: bytes, parsed: ParsedMessage) -> MailOutcome:
        who = match_sender(self.plan, parsed.sender, forwarded_from=parsed.forwarded_senders)
        out = MailOutcome(uid, parsed.message_id, parsed.sender, parsed.subject, who.unit_id, "unplaced")
        if who.unit_id is None:
            out.reason = who.reason
        elif not parsed.attachments:
            out.reason = "邮件没有附件，无法登记（正文不作为报送材料）"
        else:
            self.identify(out, parsed, who.unit_id)
        if out.outcome != "recorded":
            saved = _save_unplaced(raw, today=self.today, uid=uid, digest=hashlib.sha256(raw).hexdigest(),
                                   reason=out.reason.splitlines()[0] if out.reason else "未能识别",
                                   origin=f"联系邮箱来信（{parsed.sender}，主题「{parsed.subject}」）",
                                   unit=who.unit_id)
            out.reason += (f"\n  原邮件已存为 {saved}，已列入协调人当天的邮件；核实后用"
                           " duban inbox assign 登记")
        return out

    def identify(self, out: MailOutcome, parsed: ParsedMessage, unit_id: str) -> None:
        with tempfile.TemporaryDirectory(prefix="duban-mail-") as tmp:
            staged = _stage(Path(tmp), parsed, unit_id)
            report = process_inbox(plan=self.plan, inbox_dir=Path(tmp), today=self.today, actor=self.actor)
        refused: list[str] = []
        for item in report.items:
            if item.outcome == "container":  # a zip or .eml that was opened: its members are items
                continue
            att = staged.get(item.path)
            name = att.name if att else Path(item.path).name
            entry = {"name": name, "staged_as": item.path, "outcome": item.outcome, "unit": item.unit,
                     "milestone": item.milestone, "detail": item.detail,
                     "sha256": getattr(item, "sha256", None) or (att.sha256 if att else ""),
                     "missing": list(m) if (m := getattr(item, "missing", None)) is not None else None}
            out.files.append(entry)
            if item.outcome not in (*RECORDED, "duplicate"):
                refused.append(f"附件「{name}」：{item.detail}")
        placed = len(out.files) - len(refused)
        out.outcome = "unplaced" if not placed else "partial" if refused else "recorded"
        if not out.files:
            refused.append("附件均为临时文件或无法处理的文件")
        out.reason = "\n".join(refused)

    def run(self) -> MailReport:
        box, folder = self.box, self.folder
        with session_scope() as session:
            if not ledger.is_synced(session):
                raise DubanError(f"{ledger.NOT_SYNCED}：邮件留在邮箱中，同步后再读取", "先运行 duban sync")
            known = mail.known_uids(session, folder=folder, uidvalidity=box.uidvalidity)
        for uid in box.uids():
            if uid in known:
                row = known[uid]
                self.report.messages.append(MailOutcome(uid, row.message_id, row.sender, row.subject,
                                                        row.unit_id, "seen"))
                continue
            fetched = box.fetch(uid)
            if fetched is None:
                continue
            parsed = parse_message(fetched.data)
            with session_scope() as session:
                met = mail.find(session, message_id=parsed.message_id, folder=folder,
                                uidvalidity=box.uidvalidity, uid=uid)
                if met is not None:  # the same message met again at another place
                    assert met.id is not None
                    mail.move_key(session, row_id=met.id, folder=folder, uidvalidity=box.uidvalidity, uid=uid)
                    self.report.messages.append(MailOutcome(uid, met.message_id, met.sender, met.subject,
                                                            met.unit_id, "seen"))
                    continue
            out = self.place(uid, fetched.data, parsed)
            with session_scope() as session:
                mail.record_message(
                    session, message_id=parsed.message_id, folder=folder, uidvalidity=box.uidvalidity, uid=uid,
                    sender=parsed.sender, subject=parsed.subject,
                    sent_at=parsed.date.astimezone(dt.UTC) if parsed.date else None,
                    unit_id=out.unit, outcome=out.outcome, reason=out.reason or None, items=out.files,
                    fetched_on=self.today, actor=self.actor)
            after_commit(uid)
            self.report.messages.append(out)
        self.file_away()
        return self.report

    def file_away(self) -> None:
        """Move every recorded message not yet moved (this fetch's and a crashed one's)."""
        with session_scope() as session:
            uids = mail.unfiled_uids(session, folder=self.folder, uidvalidity=self.box.uidvalidity)
        present = set(self.box.uids())
        uids = [u for u in uids if u in present]
        self.box.file_away(uids)
        with session_scope() as session:
            mail.filed(session, folder=self.folder, uidvalidity=self.box.uidvalidity, uids=uids)
        self.report.filed = len(uids)


def fetch_mail(*, plan: Plan, today: dt.date, actor: str, settings: ImapSettings | None = None) -> MailReport:
    """Read the contact mailbox once.  Raises :class:`notifications.imap.ImapFailed` if unreachable."""
    settings = settings or ImapSettings.from_env()
    if settings is None:
        raise DubanError(NOT_CONFIGURED, "设置 DUBAN_IMAP_HOST、DUBAN_IMAP_USER 和 DUBAN_IMAP_PASSWORD"
                                         "（见 docs/运维手册.md「联系邮箱：IMAP」）")
    with ContactMailbox(settings) as box:
        return _Fetch(plan=plan, today=today, actor=actor, box=box).run()
