"""Archiving to a directory (file://): finished games' logs and old analytics
move to compressed, checksummed objects; replay, verify, history and export
read archived games transparently; restore brings the rows back exactly."""
import gzip
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import liapstore
from liapstore.errors import ArchiveCorrupt, ArchiveMissing, InvalidInput, NotFound
from liapstore.testing.support import (MEDIUM, expect, innermost, play_recorded, record, rows,
                                       script, start)

UTC = timezone.utc


def _snapshot(store, game_id):
    """What replay, verify and history read of one game."""
    return (store.list_actions(game_id), store.list_turns(game_id), store.list_rounds(game_id),
            store.get_seats(game_id), store.get_game(game_id))


def _played(store, n=2):
    """n finished games and one unfinished one; returns (finished ids, unfinished id)."""
    done = []
    for i in range(n):
        _, _, game = play_recorded(store, 11 + i, settings=MEDIUM, code=f"ARCH{i}")
        done.append(game.id)
    running = start(store, code="RUNNING", **MEDIUM)
    record(store, running.game.id, script(5, **MEDIUM).steps[:6])
    return done, running.game.id


def test_archived_games_replay_verify_and_restore_exactly(store, tmp_path):
    finished, running = _played(store)
    url = (tmp_path / "archive").as_uri()
    before = {g: _snapshot(store, g) for g in finished + [running]}
    history = store.match_history(room_id=store.get_game(finished[0]).room_id).items
    counts = rows(store)

    done = store.archive(url, older_than=timedelta(0), events=False)
    assert done["games"] == 2
    assert done["actions"] == sum(len(before[g][0]) for g in finished)
    assert done["turns"] == sum(len(before[g][1]) for g in finished)
    assert 0 < done["stored_bytes"] < done["raw_bytes"]
    after = rows(store)
    assert after["player_actions"] == counts["player_actions"] - done["actions"]
    assert after["turns"] == counts["turns"] - done["turns"]
    assert after["archived_games"] == 2
    for g in finished + [running]:
        assert _snapshot(store, g) == before[g]
        assert store.verify_game(g) == []
    assert store.list_actions(finished[0], after_sequence=5, limit=3) == list(before[finished[0]][0][5:8])
    store.list_actions(finished[0])[0].action_data["type"] = "changed by the caller"
    assert store.list_actions(finished[0]) == before[finished[0]][0]
    assert store.match_history(room_id=store.get_game(finished[0]).room_id).items == history
    pointer = store.archived_game(finished[0])
    assert pointer["actions"] == len(before[finished[0]][0]) and store.archived_game(running) is None
    assert (Path(tmp_path / "archive") / pointer["object_key"]).exists()
    # The unfinished game goes on being recorded as if nothing happened.
    assert store.record_action(running, 7, script(5, **MEDIUM).steps[6][2]).version == 7

    again = store.archive(url, older_than=timedelta(0), events=False)
    assert again["games"] == 0 and rows(store)["archived_games"] == 2

    restored = store.restore_archived([finished[0]])
    assert restored["games"] == 1 and store.archived_game(finished[0]) is None
    assert _snapshot(store, finished[0]) == before[finished[0]]
    expect(NotFound, store.restore_archived, [finished[0]])
    store.restore_archived()
    final = rows(store)
    assert (final["player_actions"], final["turns"], final["archived_games"]) == \
        (counts["player_actions"] + 1, counts["turns"], 0)
    for g in finished:
        assert _snapshot(store, g) == before[g]


def test_only_games_older_than_the_cutoff_move(store, tmp_path):
    finished, _ = _played(store, 1)
    done = store.archive((tmp_path / "a").as_uri(), older_than=timedelta(days=1))
    assert done["games"] == 0 and store.archived_game(finished[0]) is None


def test_old_analytics_months_move_whole_and_come_back(store, tmp_path):
    old = [store.record_event("visit", {"n": i}, timestamp=datetime(2025, 1, 5 + i, tzinfo=UTC))
           for i in range(3)]
    older = store.record_event("visit", {"n": 9}, timestamp=datetime(2024, 12, 31, 23, tzinfo=UTC))
    recent = store.record_event("visit", {"n": 10})
    done = store.archive((tmp_path / "a").as_uri(), older_than=timedelta(0), games=False)
    assert (done["events"], done["objects"]) == (4, 2)
    assert store.list_events().items == (recent,)
    assert rows(store)["archived_events"] == 2
    assert store.archive((tmp_path / "a").as_uri(), older_than=timedelta(0))["events"] == 0
    back = store.restore_archived()
    assert (back["event_objects"], back["events"]) == (2, 4)
    assert list(store.list_events().items) == [older] + old + [recent]
    assert rows(store)["archived_events"] == 0


def test_a_damaged_or_missing_object_is_a_typed_error(store, tmp_path):
    finished, _ = _played(store, 2)
    root = tmp_path / "a"
    store.archive(root.as_uri(), older_than=timedelta(0))
    first, second = (root / store.archived_game(g)["object_key"] for g in finished)
    first.write_bytes(gzip.compress(b'{"format": "liapstore-archive/1"}'))
    second.unlink()
    for game_id, error, word in ((finished[0], ArchiveCorrupt, "checksum"),
                                 (finished[1], ArchiveMissing, "does not exist")):
        e = expect(error, store.verify_game, game_id)
        assert str(game_id) in str(e) and word in str(e)
        expect(error, store.list_actions, game_id)
        before = rows(store)
        expect(error, store.restore_archived, [game_id])
        assert rows(store) == before   # nothing half restored, the pointer stays
    # What stays in the database does not need the archive.
    assert store.get_game(finished[0]).finished and store.match_history(
        room_id=store.get_game(finished[0]).room_id).items


def test_a_crash_between_upload_and_commit_loses_and_duplicates_nothing(store, tmp_path):
    finished, _ = _played(store, 2)
    url = (tmp_path / "a").as_uri()
    before = {g: _snapshot(store, g) for g in finished}
    counts = rows(store)

    class Crash(BaseException):
        pass

    def crash(*args):
        raise Crash()
    target = innermost(store)
    target._swap_for_pointer = crash      # the process dies after uploading
    try:
        expect(Crash, store.archive, url, older_than=timedelta(0))
    finally:
        del target._swap_for_pointer
    assert rows(store) == counts
    assert sorted(p.name for p in (tmp_path / "a" / "games").iterdir()) == \
        sorted(f"{g}.json.gz" for g in finished)
    done = store.archive(url, older_than=timedelta(0))
    assert done["games"] == 2
    assert rows(store)["archived_games"] == 2
    for g in finished:
        assert _snapshot(store, g) == before[g]
    store.restore_archived()
    assert rows(store) == counts


def test_erased_players_archived_games_still_verify_and_export(store, tmp_path):
    table, _, game = play_recorded(store, 4, settings=MEDIUM)
    alice = table.players[1]
    own = [a.sequence_number for a in store.list_actions(game.id) if a.player_id == alice.id]
    store.archive((tmp_path / "a").as_uri(), older_than=timedelta(0))
    exported = store.export_player(alice.id)
    assert [a["sequence_number"] for a in exported["games"][0]["actions"]] == own
    store.erase_player(alice.id)
    assert store.verify_game(game.id) == [] and store.verify_stats() == []
    store.restore_archived()
    assert store.verify_game(game.id) == []


def test_erased_players_archived_events_stay_out_on_restore(store, tmp_path):
    alice, bob = store.create_player("alice_ev"), store.create_player("bob_ev")
    when = datetime(2025, 2, 1, tzinfo=UTC)
    store.record_event("visit", {"ip": "192.0.2.1"}, player_id=alice.id, timestamp=when)
    kept = store.record_event("visit", {}, player_id=bob.id, timestamp=when)
    store.archive((tmp_path / "a").as_uri(), older_than=timedelta(0))
    store.erase_player(alice.id)
    assert store.restore_archived()["events"] == 1
    assert store.list_events().items == (kept,)


def test_bad_archive_urls_are_refused(store, tmp_path):
    for url in ("ftp://host/x", "s3:///no-bucket", "s3://user:secret@bucket/x", "", None,
                "file://otherhost/x"):
        e = expect(InvalidInput, store.archive, url, older_than=timedelta(0))
        assert "secret" not in str(e)
    expect(InvalidInput, store.archive, (tmp_path / "a").as_uri(), older_than=timedelta(-1))


@pytest.mark.durable
def test_a_reopened_store_reads_archived_games(store, store_url, tmp_path):
    finished, _ = _played(store, 1)
    before = _snapshot(store, finished[0])
    store.archive((tmp_path / "a").as_uri(), older_than=timedelta(0))
    with liapstore.connect(store_url) as again:
        assert _snapshot(again, finished[0]) == before
        assert again.verify_game(finished[0]) == []
