"""A list of units (督导检查名单, 约谈建议) names a few items per unit and counts them all.

The sweep stores such a message cut to the items it names, with its tally; the message must
read exactly as the same list holding every item (which is what a message stored before the
cut holds, and still renders), and every item — named or only counted — must be remembered
as told by it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from notifications.render import render_notice, render_subject
from plan.ladder import Candidate, Firing, Router
from plan.notice import NOTICE_FORMAT, Notice, notice_from_json, notice_to_json
from plan.supervision import EarlierRung
from plan.unit_list import MAX_ITEMS_PER_UNIT, tally
from tests.test_notifications_samples import coordinator_list, interview_proposal, item

CHASED = EarlierRung("chase", dt.date(2024, 7, 1))
SUPERVISED = EarlierRung("supervise", dt.date(2024, 7, 8))
TODAY = dt.date(2024, 7, 8)


def _long_list(kind: str) -> Notice:
    """13 items for 黄浦 (3 beyond the cap; the one least overdue never supervised), 2 for 徐汇."""
    rung = "supervise" if kind == "coordinator-list" else "interview"
    items = [item(rung, days=20 - n, title=f"事项{n:02d}", due=dt.date(2024, 6, 1) + dt.timedelta(days=n),
                  earlier=(CHASED, SUPERVISED) if n < 12 else (CHASED,))
             for n in range(13)]
    items += [item(rung, days=25, unit_id="xuhui", unit_name="徐汇区知识产权局", title=f"徐汇{n}",
                   earlier=(CHASED, SUPERVISED)) for n in range(2)]
    make = coordinator_list if kind == "coordinator-list" else interview_proposal
    return make(*reversed(items))  # the order items arrive in decides nothing


def _cut(notice: Notice) -> Notice:
    counted, named = tally(notice.items)
    return dataclasses.replace(notice, items=named, tally=counted)


@pytest.mark.parametrize("kind", ["coordinator-list", "interview-proposal"])
def test_a_cut_list_reads_as_the_whole_list(kind: str) -> None:
    whole = _long_list(kind)
    cut = _cut(whole)
    assert len(cut.items) == MAX_ITEMS_PER_UNIT + 2 and cut.item_count == whole.item_count == 15
    assert cut.key == whole.key
    assert render_notice(cut) == render_notice(whole)
    assert render_subject(cut) == render_subject(whole)
    text = render_notice(cut).text
    assert "下列 2 个单位共 15 项材料" in text
    assert "另有 3 项逾期事项，详见 duban status --unit huangpu" in text
    assert text.index("1. 徐汇区知识产权局") < text.index("2. 黄浦区知识产权局")  # 25 days before 20
    # 黄浦's named items are its earliest due; the three latest are only counted.
    assert "事项09" in text and "事项10" not in text and "事项12" not in text


def test_the_wording_counts_items_the_list_does_not_name() -> None:
    # Only 黄浦's unnamed 事项12 was never supervised: the lead must not say 经催办、督办.
    text = render_notice(_cut(_long_list("interview-proposal"))).text
    (lead,) = [line for line in text.splitlines() if "项材料已逾期" in line]
    assert "经催办、督办仍未报送" not in lead
    assert "其中部分事项此前未发出催办或督办" in lead
    assert "共 15 项材料已逾期 8 个工作日以上" in lead  # the least overdue item of all, unnamed


def test_a_cut_list_is_stored_and_read_back_whole() -> None:
    whole = _long_list("interview-proposal")
    cut = _cut(whole)
    stored = notice_to_json(cut)
    assert json.loads(stored)["format"] == NOTICE_FORMAT == 2
    assert notice_from_json(stored) == cut
    assert len(stored) < len(notice_to_json(whole))
    assert "tally" not in json.loads(notice_to_json(whole))


def test_a_list_stored_whole_in_format_1_still_renders() -> None:
    whole = _long_list("coordinator-list")
    stored = notice_to_json(whole).replace(f'"format":{NOTICE_FORMAT}', '"format":1')
    assert json.loads(stored)["format"] == 1
    assert render_notice(notice_from_json(stored)) == render_notice(_cut(whole))


def test_the_router_names_ten_per_unit_and_tells_every_item(plan) -> None:
    rungs = {rung.id: rung for rung in plan.escalation.rungs}
    unit_id = next(iter(plan.units))
    milestones = plan.milestones()[:14]
    assert len(milestones) == 14
    firings = [Firing(Candidate(n + 1, unit_id, m.id, m.title, m.task, TODAY - dt.timedelta(days=40 + n)),
                      rungs["interview"], 25 + n, ()) for n, m in enumerate(milestones)]
    router = Router(plan, TODAY)
    notices = router.notices(firings)
    (proposal,) = [n for n in notices if n.kind == "interview-proposal"]
    assert len(proposal.items) == MAX_ITEMS_PER_UNIT and proposal.item_count == 14
    assert proposal.tally is not None and proposal.tally.units[0].count == 14
    # Every firing, named or only counted, is remembered as told by the proposal.
    for firing in firings:
        key, recipients = router.told[id(firing)]
        assert key == proposal.key
        assert set(proposal.to) <= set(recipients)
