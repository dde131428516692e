"""Players: the same behaviour on every backend."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import liapstore
from liapstore import Conflict, InvalidInput, NotFound
from liapstore import paging
from liapstore.testing.support import expect, rows, update_own

UTC = timezone.utc


def test_create_player_defaults(store):
    before = datetime.now(UTC)
    p = store.create_player("alice")
    after = datetime.now(UTC)
    assert isinstance(p, liapstore.Player)
    assert isinstance(p.id, uuid.UUID)
    assert p.username == "alice"
    assert p.display_name == "alice"
    assert p.email is None
    assert p.is_active is True
    assert (p.games_played, p.games_won, p.total_score, p.highest_score) == (0, 0, 0, 0)
    assert p.settings == {}
    assert before <= p.created_at <= after
    assert before <= p.last_seen <= after


def test_create_player_with_everything_round_trips(store):
    p = store.create_player("bob-the_2nd", "Bob II", email="bob@example.org",
                            settings={"theme": "dark", "sound": False})
    assert (p.display_name, p.email, p.settings) == ("Bob II", "bob@example.org",
                                                     {"theme": "dark", "sound": False})
    assert store.get_player(p.id) == p
    assert store.get_player(str(p.id)) == p
    assert store.get_player_by_username("bob-the_2nd") == p


def test_usernames_at_the_length_limits_are_accepted(store):
    assert store.create_player("abc").username == "abc"
    assert store.create_player("x" * 50).username == "x" * 50


def test_get_player_unknown(store):
    store.create_player("alice")
    with pytest.raises(NotFound):
        store.get_player(uuid.uuid4())
    with pytest.raises(NotFound):
        store.get_player_by_username("nobody")


def test_usernames_are_case_sensitive(store):
    alice = store.create_player("alice")
    with pytest.raises(NotFound):
        store.get_player_by_username("ALICE")
    upper = store.create_player("Alice")
    assert upper.id != alice.id
    assert store.get_player_by_username("Alice") == upper
    assert store.get_player_by_username("alice") == alice


BAD_USERNAMES = ["ab", "x" * 51, "has space", "semi;colon", "dot.ted", "émile", "tab\tx",
                 "new\nline", "trailing\n", "", "a\x00bc", 123, None, b"abc", ["abc"]]


def test_bad_usernames_are_rejected_before_any_write(store):
    store.create_player("existing")
    counts = rows(store)
    for bad in BAD_USERNAMES:
        expect(InvalidInput, store.create_player, bad)
        assert rows(store) == counts, bad


BAD_PLAYER_FIELDS = [
    {"display_name": ""}, {"display_name": "   "}, {"display_name": "x" * 101},
    {"display_name": 5}, {"email": "not-an-email"}, {"email": "a@b"}, {"email": "x" * 250 + "@b.org"},
    {"email": 7}, {"settings": []}, {"settings": "{}"}, {"settings": {"f": float("nan")}},
    {"settings": {"obj": object()}}, {"settings": {"deep": [{"inf": float("inf")}]}},
]


def test_bad_player_fields_are_rejected_before_any_write(store):
    counts = rows(store)
    for kwargs in BAD_PLAYER_FIELDS:
        expect(InvalidInput, store.create_player, "carol", **kwargs)
        assert rows(store) == counts, kwargs
    expect(NotFound, store.get_player_by_username, "carol")


def test_duplicate_username_conflicts(store):
    first = store.create_player("alice", email="a@example.org")
    counts = rows(store)
    with pytest.raises(Conflict):
        store.create_player("alice")
    assert rows(store)["players"] == counts["players"]
    assert store.get_player_by_username("alice") == first


def test_duplicate_email_conflicts(store):
    store.create_player("alice", email="shared@example.org")
    with pytest.raises(Conflict):
        store.create_player("bob", email="shared@example.org")
    with pytest.raises(NotFound):
        store.get_player_by_username("bob")
    # Several players without an address are fine.
    store.create_player("carol")
    store.create_player("dave")


def test_update_email_to_a_used_address_conflicts(store):
    store.create_player("alice", email="a@example.org")
    bob = store.create_player("bob", email="b@example.org")
    with pytest.raises(Conflict):
        update_own(store, bob.id, email="a@example.org")
    assert store.get_player(bob.id).email == "b@example.org"


def test_malformed_ids_are_invalid_input(store):
    store.create_player("alice")
    for bad in ["not-a-uuid", "", 42, 4.2, None, b"x" * 16, ["x"],
                "12345678-1234-1234-1234-12345678901"]:
        expect(InvalidInput, store.get_player, bad)
        expect(InvalidInput, store.update_player, bad, display_name="x")


def test_update_each_field(store):
    p = store.create_player("alice")
    q = update_own(store, p.id, display_name="Alice A.")
    assert q.display_name == "Alice A." and store.get_player(p.id).display_name == "Alice A."

    q = update_own(store, p.id, email="alice@example.org")
    assert q.email == "alice@example.org" and store.get_player(p.id).email == "alice@example.org"

    q = update_own(store, p.id, email=None)
    assert q.email is None and store.get_player(p.id).email is None

    q = store.update_player(p.id, is_active=False)
    assert q.is_active is False and store.get_player(p.id).is_active is False

    q = update_own(store, p.id, settings={"lang": "fr", "volume": [1, 2]})
    assert store.get_player(p.id).settings == {"lang": "fr", "volume": [1, 2]}

    seen = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=-5)))
    q = store.update_player(p.id, last_seen=seen)
    assert q.last_seen == seen and q.last_seen.utcoffset() == timedelta(0)
    assert store.get_player(p.id).last_seen == seen

    final = store.get_player(p.id)
    assert final == q
    # Nothing else moved.
    assert (final.username, final.created_at, final.games_played) == ("alice", p.created_at, 0)


def test_update_with_no_changes_returns_the_player(store):
    p = store.create_player("alice")
    assert store.update_player(p.id) == p


def test_update_unknown_player(store):
    with pytest.raises(NotFound):
        update_own(store, uuid.uuid4(), display_name="ghost")


def test_bad_updates_change_nothing(store):
    p = store.create_player("alice", email="a@example.org")
    counts = rows(store)
    for kwargs in [{"is_active": 1}, {"is_active": "yes"}, {"display_name": ""},
                   {"settings": None}, {"last_seen": "2024-01-01"},
                   {"last_seen": datetime(2024, 1, 1)}, {"last_seen": None}, {"email": "bad"}]:
        expect(InvalidInput, store.update_player, p.id, **kwargs)
        assert store.get_player(p.id) == p, kwargs
    assert rows(store) == counts


def test_statistics_are_not_updatable(store):
    p = store.create_player("alice")
    with pytest.raises(TypeError):
        store.update_player(p.id, games_won=10)
    assert store.get_player(p.id).games_won == 0


def _all_pages(listing, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = listing(limit=limit, after=cursor)
        pages += 1
        assert len(page) <= limit
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen, pages
        assert len(page) == limit
        cursor = page.next_cursor
        assert pages < 100


def test_list_players_orders_by_username_and_pages_without_gaps(store):
    names = [f"user_{i:02d}" for i in range(23)]
    for name in reversed(names):
        store.create_player(name)
    seen, pages = _all_pages(store.list_players, 5)
    assert [p.username for p in seen] == names
    assert pages == 5
    one = store.list_players(limit=100)
    assert one.next_cursor is None and [p.username for p in one] == names


def test_list_players_order_is_by_code_point(store):
    # Every backend sorts the same way, whatever the database's collation.
    names = ["alice", "Bob", "_under", "-dash", "Zed", "carol", "0zero", "ALICE", "bob"]
    for name in names:
        store.create_player(name)
    assert [p.username for p in store.list_players()] == sorted(names)
    seen, _ = _all_pages(store.list_players, 2)
    assert [p.username for p in seen] == sorted(names)


def test_page_exactly_full_has_no_next_page_or_an_empty_last_page(store):
    for i in range(4):
        store.create_player(f"user_{i}")
    first = store.list_players(limit=4)
    assert len(first) == 4
    if first.next_cursor is not None:
        assert len(store.list_players(limit=4, after=first.next_cursor)) == 0
    second = store.list_players(limit=2)
    assert second.next_cursor is not None
    last = store.list_players(limit=2, after=second.next_cursor)
    assert [p.username for p in last] == ["user_2", "user_3"]


def test_pagination_sees_rows_inserted_between_pages_without_repeating(store):
    for name in ("b_1", "b_3", "b_5"):
        store.create_player(name)
    first = store.list_players(limit=2)
    assert [p.username for p in first] == ["b_1", "b_3"]
    store.create_player("a_0")   # before the cursor: not seen again
    store.create_player("b_4")   # after the cursor: seen
    rest = store.list_players(limit=10, after=first.next_cursor)
    assert [p.username for p in rest] == ["b_4", "b_5"]


def test_list_players_active_filter(store):
    a, b, c = (store.create_player(n) for n in ("a_one", "b_two", "c_three"))
    store.update_player(b.id, is_active=False)
    assert [p.username for p in store.list_players(active=True)] == ["a_one", "c_three"]
    assert [p.username for p in store.list_players(active=False)] == ["b_two"]
    assert len(store.list_players()) == 3
    seen, _ = _all_pages(lambda **kw: store.list_players(active=True, **kw), 1)
    assert [p.username for p in seen] == ["a_one", "c_three"]


def test_bad_cursor_is_invalid_input(store):
    store.create_player("alice")
    listing = "players:username"
    for cursor in ["!!!", "not base64 at all", "e30", "MQ", "W10", paging.encode(listing, ["a", "b"]),
                   paging.encode("audit_log:id", ["a"]), paging.encode(listing, [2 ** 70]),
                   paging.encode(listing, [1.5]), 5, ""]:
        expect(InvalidInput, store.list_players, after=cursor)


def test_cursor_of_another_listing_is_invalid_input(store):
    # A cursor from the audit log (ordered by an integer id) handed to the
    # players listing (ordered by username) does not belong to it.
    for i in range(3):
        store.create_player(f"user_{i}")
    audit_cursor = store.list_audit_log(limit=1).next_cursor
    assert audit_cursor is not None
    with pytest.raises(InvalidInput):
        store.list_players(after=audit_cursor)


def test_bad_limit_or_filter_is_invalid_input(store):
    for limit in [0, -1, 1001, "10", 2.5, None, True]:
        expect(InvalidInput, store.list_players, limit=limit)
    expect(InvalidInput, store.list_players, active="yes")
    assert len(store.list_players(limit=1000)) == 0


def test_get_or_create_player(store):
    alice = store.create_player("alice", "Alice")
    assert store.get_or_create_player("alice", "ignored") == alice
    bob = store.get_or_create_player("bob", "Bob")
    assert bob.display_name == "Bob" and store.get_player_by_username("bob") == bob
    counts = rows(store)
    expect(InvalidInput, store.get_or_create_player, "b!")
    assert rows(store) == counts
