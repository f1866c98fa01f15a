"""manage.py ensure_indexes creates the indexes behind the job queries on the real MongoDB-protocol server."""

import io

from django.core.management import call_command

from config.mongo import get_database

# The queries and the indexes they need, written out here (not read from the code under test).
NEEDED = {
    "uploads": [
        [("file_id", 1)],
        [("owner_id", 1), ("created_at", -1)],  # a user's job list, newest first
        [("owner_id", 1), ("status", 1), ("created_at", -1)],  # ... filtered by status
        [("status", 1), ("created_at", -1)],  # staff's list by status, the watchdog's work lists
    ],
    "claims": [[("job_id", 1), ("kind", 1)]],
    "chunks": [[("job_id", 1), ("attempt", 1)]],
    "dead_letters": [[("job_id", 1), ("line", 1)]],
    "job_events": [[("created_at", 1)]],
    "task_starts": [[("task_id", 1)], [("job_id", 1)]],
}


def index_keys(collection: str) -> list[list[tuple[str, int]]]:
    return [list(index["key"].items()) for index in get_database()[collection].list_indexes()]


def ensure_indexes() -> str:
    out = io.StringIO()
    call_command("ensure_indexes", stdout=out)
    return out.getvalue()


def test_the_command_creates_every_index_the_queries_need_and_a_second_run_changes_nothing():
    database = get_database()
    for collection in NEEDED:
        database[collection].drop_indexes()
        assert index_keys(collection) == [[("_id", 1)]]

    first = ensure_indexes()
    after_first = {collection: index_keys(collection) for collection in NEEDED}
    second = ensure_indexes()

    for collection, needed in NEEDED.items():
        for keys in needed:
            assert keys in after_first[collection], (collection, keys)
    made = first.count("\ncreated  ") + first.startswith("created  ")
    assert "created  uploads.owner_id_1_status_1_created_at_-1\n" in first
    assert first.endswith(f"MongoDB indexes: {made} created, 0 already there\n")
    assert second == f"MongoDB indexes: 0 created, {made} already there\n"
    assert {collection: index_keys(collection) for collection in NEEDED} == after_first
    assert database["uploads"].index_information()["file_id_1"]["unique"] is True
