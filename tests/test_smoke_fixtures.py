from tests.conftest import table_snapshot


def test_synced_ledger_has_all_obligations(synced, db_url):
    rows = table_snapshot(db_url)
    assert len(rows["ledger_entry"]) == len(synced.obligations())
    assert len(rows["task"]) == 18
