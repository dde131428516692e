"""The audit trail of players: the same payload on every backend.

Each backend writes, for every insert and update of a player, the whole row
without the secret columns (e-mail, token, key): ids as canonical text, timestamps as fixed-width
UTC text ('2026-01-02 03:04:05.000006+00:00'), booleans as JSON booleans,
settings as JSON. A delete logs the row as it was (the Store never deletes a
player; the test uses the backends' ``_delete`` table primitive, which the
SQL triggers and the memory backend both audit).
"""
from liapstore.testing.support import (SHORT, audit_payload as payload, record, script, start,
                                       update_own)
from liapstore.schema.models import Player as PlayerModel
from liapstore.security import secret_column

# The audited columns: every column of players except the secret ones.
AUDITED = {f.column_name for f in PlayerModel._meta.sorted_fields if not secret_column(f.column_name)}


def test_audit_payload_is_the_whole_row_in_one_form(store):
    created = store.create_player("audited", "Audited", email="a@mail.example",
                                  settings={"theme": "dark", "sound": True, "volume": 0.5,
                                            "tags": ["x", None]})
    updated = update_own(store, created.id, display_name="Renamed", is_active=False,
                                  settings={"theme": "light"}, email=None)
    entries = store.list_audit_log(table_name="players").items
    assert [(e.table_name, e.operation) for e in entries] == [("players", "INSERT"),
                                                              ("players", "UPDATE")]
    assert [e.changed_data for e in entries] == [payload(created), payload(updated)]
    for e in entries:
        assert set(e.changed_data) == AUDITED
        assert type(e.changed_data["is_active"]) is bool
        assert e.ip_address is None
        assert "a@mail.example" not in repr(e.changed_data)
    # The server created the player; the player changed their own profile.
    assert [e.user_id for e in entries] == [None, created.id]
    assert entries[1].changed_data["is_active"] is False
    assert entries[0].timestamp <= entries[1].timestamp


def test_audit_follows_statistics_updated_by_games(store):
    table = start(store, **SHORT)
    record(store, table.game.id, script(3).steps)
    players = {p.id: store.get_player(p.id) for p in table.players}
    last = {}
    for e in store.list_audit_log(table_name="players").items:
        last[e.changed_data["id"]] = e.changed_data
    assert last == {str(pid): payload(p) for pid, p in players.items()}
    assert all(p.games_played == 1 for p in players.values())


def test_audit_of_a_deleted_player_is_the_row_as_it_was(store):
    keep = store.create_player("keeper")
    gone = update_own(store, store.create_player("leaver", settings={"a": 1}).id,
                               is_active=False)
    assert store._delete("players", [("id", "=", gone.id)]) == 1
    last = store.list_audit_log(table_name="players").items[-1]
    assert (last.operation, last.changed_data) == ("DELETE", payload(gone))
    assert store.get_player(keep.id) == keep
