"""Rooms: creation, lookup, updates, listings and name search."""
import uuid
from datetime import datetime, timezone

import pytest

import liapstore
from liapstore import Conflict, InvalidInput, NotFound
from liapstore.testing.support import expect, rows

UTC = timezone.utc


def test_create_room_defaults(store):
    before = datetime.now(UTC)
    r = store.create_room("ABC123", "Friday Night Games")
    assert isinstance(r, liapstore.Room) and isinstance(r.id, uuid.UUID)
    assert (r.room_code, r.name, r.created_by, r.is_public, r.max_players, r.game_settings,
            r.status, r.current_game_id) == ("ABC123", "Friday Night Games", None, True, 4, {},
                                             "waiting", None)
    assert before <= r.created_at <= datetime.now(UTC)
    assert store.get_room(r.id) == r
    assert store.get_room(str(r.id)) == r
    assert store.get_room_by_code("ABC123") == r


def test_create_room_with_everything(store):
    owner = store.create_player("owner")
    r = store.create_room("PRIV", "Private", created_by=owner.id, is_public=False, max_players=2,
                          game_settings={"winning_score": 30, "bots": ["smart", "random"]})
    got = store.get_room(r.id)
    assert got == r
    assert (got.created_by, got.is_public, got.max_players, got.game_settings) == (
        owner.id, False, 2, {"winning_score": 30, "bots": ["smart", "random"]})


def test_unknown_room(store):
    with pytest.raises(NotFound):
        store.get_room(uuid.uuid4())
    with pytest.raises(NotFound):
        store.get_room_by_code("NOPE")
    with pytest.raises(NotFound):
        store.update_room(uuid.uuid4(), name="x")
    with pytest.raises(InvalidInput):
        store.get_room("not-a-uuid")


def test_duplicate_room_code_conflicts(store):
    first = store.create_room("SAME", "First")
    with pytest.raises(Conflict):
        store.create_room("SAME", "Second")
    assert rows(store)["rooms"] == 1
    assert store.get_room_by_code("SAME") == first


def test_unknown_creator_is_not_found_and_inserts_nothing(store):
    counts = rows(store)
    with pytest.raises(NotFound):
        store.create_room("ORPHAN", "Orphan", created_by=uuid.uuid4())
    assert rows(store) == counts
    with pytest.raises(NotFound):
        store.get_room_by_code("ORPHAN")


def test_bad_room_fields_are_rejected_before_any_write(store):
    counts = rows(store)
    for kwargs in [
        {"room_code": ""}, {"room_code": "x" * 21}, {"room_code": 7}, {"name": ""},
        {"name": "n" * 101}, {"name": None}, {"max_players": 0}, {"max_players": 5},
        {"max_players": "4"}, {"max_players": True}, {"is_public": "yes"}, {"game_settings": [1]},
        {"created_by": "not-a-uuid"}, {"name": "nul\x00"}, {"room_code": "A\x00"},
    ]:
        args = {"room_code": "GOOD", "name": "Good"} | kwargs
        expect(InvalidInput, store.create_room, args.pop("room_code"), args.pop("name"), **args)
        assert rows(store) == counts, kwargs


def test_update_room_fields(store):
    r = store.create_room("UPD", "Before")
    assert store.update_room(r.id, name="After").name == "After"
    assert store.update_room(r.id, is_public=False).is_public is False
    assert store.update_room(r.id, max_players=3).max_players == 3
    assert store.update_room(r.id, game_settings={"a": [1, {"b": None}]}).game_settings == {
        "a": [1, {"b": None}]}
    for status in ("playing", "finished", "abandoned", "waiting"):
        assert store.update_room(r.id, status=status).status == status
    got = store.get_room(r.id)
    assert (got.name, got.is_public, got.max_players, got.status, got.room_code, got.created_at) == (
        "After", False, 3, "waiting", "UPD", r.created_at)


def test_bad_status_is_invalid_input_and_changes_nothing(store):
    r = store.create_room("ST", "Status")
    for status in ["closed", "WAITING", "", None, 1, "waiting "]:
        expect(InvalidInput, store.update_room, r.id, status=status)
        assert store.get_room(r.id) == r, status
        if status is not None:  # None means "any status" in a listing
            expect(InvalidInput, store.list_rooms, status=status)
    expect(InvalidInput, store.update_room, r.id, max_players=9)
    expect(InvalidInput, store.update_room, r.id, name="")
    assert store.get_room(r.id) == r


def _pages(listing, limit):
    out, cursor = [], None
    for _ in range(100):
        page = listing(limit=limit, after=cursor)
        out.extend(page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
    raise AssertionError("pagination does not end")


def test_list_rooms_oldest_first_with_pagination(store):
    made = [store.create_room(f"R{i:02d}", f"Room {i}") for i in range(17)]
    assert [r.id for r in store.list_rooms()] == [r.id for r in made]
    for limit in (1, 4, 17, 50):
        assert [r.id for r in _pages(store.list_rooms, limit)] == [r.id for r in made]
    first = store.list_rooms(limit=17)
    assert first.next_cursor is None or len(store.list_rooms(after=first.next_cursor)) == 0


def test_list_rooms_filters(store):
    alice = store.create_player("alice")
    bob = store.create_player("bob")
    r1 = store.create_room("R1", "One", created_by=alice.id)
    r2 = store.create_room("R2", "Two", created_by=bob.id, is_public=False)
    r3 = store.create_room("R3", "Three", created_by=alice.id, is_public=False)
    r4 = store.create_room("R4", "Four")
    store.update_room(r3.id, status="playing")
    store.update_room(r4.id, status="finished")

    ids = lambda page: [r.id for r in page]  # noqa: E731
    assert ids(store.list_rooms(status="waiting")) == [r1.id, r2.id]
    assert ids(store.list_rooms(status="playing")) == [r3.id]
    assert ids(store.list_rooms(status="abandoned")) == []
    assert ids(store.list_rooms(is_public=False)) == [r2.id, r3.id]
    assert ids(store.list_rooms(is_public=True)) == [r1.id, r4.id]
    assert ids(store.list_rooms(created_by=alice.id)) == [r1.id, r3.id]
    assert ids(store.list_rooms(created_by=alice.id, is_public=False)) == [r3.id]
    assert ids(store.list_rooms(created_by=bob.id, status="playing")) == []
    assert ids(_pages(lambda **kw: store.list_rooms(created_by=alice.id, **kw), 1)) == [r1.id, r3.id]
    with pytest.raises(InvalidInput):
        store.list_rooms(created_by="alice")
    with pytest.raises(InvalidInput):
        store.list_rooms(is_public=1)


def test_search_rooms_by_words(store):
    friday = store.create_room("FRI", "Friday Night Games")
    store.create_room("SAT", "Saturday Brunch")
    sunday = store.create_room("SUN", "Sunday Night Poker")
    assert [r.id for r in store.search_rooms("friday games")] == [friday.id]
    assert [r.id for r in store.search_rooms("FRIDAY")] == [friday.id]
    assert [r.id for r in store.search_rooms("games friday")] == [friday.id]
    assert [r.id for r in store.search_rooms("night")] == [friday.id, sunday.id]
    assert [r.id for r in store.search_rooms("  night!!  poker?")] == [sunday.id]
    assert store.search_rooms("bowling") == []
    assert store.search_rooms("friday bowling") == []
    assert store.search_rooms("night", limit=1)[0].id == friday.id
    assert store.search_rooms("friday")[0] == store.get_room(friday.id)


def test_search_follows_renames(store):
    r = store.create_room("REN", "Friday Night Games")
    store.update_room(r.id, name="Monday Blues")
    assert store.search_rooms("friday") == []
    assert [x.id for x in store.search_rooms("monday blues")] == [r.id]


def test_search_rejects_empty_or_bad_queries_and_limits(store):
    store.create_room("Q", "Anything")
    for query in ["", "   ", "!!!", "?-*", None, 5, "x" * 201, "a\x00b"]:
        expect(InvalidInput, store.search_rooms, query)
    for limit in [0, 10_000, "5"]:
        expect(InvalidInput, store.search_rooms, "anything", limit=limit)


def test_search_query_syntax_is_not_interpreted(store):
    store.create_room("SYN", "Friday Night Games")
    # Characters that mean something to FTS5 or tsquery are just separators.
    for query in ('friday"', "friday OR saturday", "fri*", "NOT friday", "friday & games",
                  "friday | x", "(friday)", "friday:*", "games -friday"):
        try:
            found = store.search_rooms(query)
        except InvalidInput:
            continue
        assert all(isinstance(r, liapstore.Room) for r in found)
    assert len(store.search_rooms("friday (games)")) == 1


SEARCHED = {
    "FRI": "Friday Night Games",
    "THE": "Night of the Living Dead",
    "CAF": "Café Crème",
    "MOS": "Москва Ночью",
    "TOK": "東京 Room 42",
    "GRK": "ΟΔΟΣ Ελπίδας",
    "STR": "Straße-Party_2024!",
    "NET": "bob@example.com v1.2.3",
}

# query -> room codes found. One rule on every backend (liapstore/textsearch.py):
# whole words, case-insensitive, every word must appear, diacritics count.
SEARCH_CASES = {
    # No stemming: a word matches only itself.
    "game": [], "games": ["FRI"], "gaming": [], "nights": [], "liv": [], "fri": [],
    # No stop words: "the" is a word like any other.
    "the friday": [], "the night": ["THE"], "of the": ["THE"], "the": ["THE"],
    # Case.
    "FRIDAY": ["FRI"], "fRiDaY nIgHt": ["FRI"], "GAMES": ["FRI"],
    # Punctuation, underscores and symbols separate words, in names and queries.
    "friday!!": ["FRI"], "(night)": ["FRI", "THE"], "friday-night": ["FRI"],
    "party": ["STR"], "2024": ["STR"], "party_2024": ["STR"], "example": ["NET"],
    "com": ["NET"], "bob@example.com": ["NET"], "v1": ["NET"], "3": ["NET"], "1.2": [],
    "42": ["TOK"], "4": [],
    # Diacritics count; case folding keeps them.
    "café": ["CAF"], "CAFÉ": ["CAF"], "cafe": [], "creme": [], "crème café": ["CAF"],
    # Every word must appear, in any order.
    "night friday": ["FRI"], "night": ["FRI", "THE"], "friday dead": [], "games games": ["FRI"],
    # Words in other scripts.
    "москва": ["MOS"], "МОСКВА ночью": ["MOS"], "москв": [], "東京": ["TOK"], "東": [],
    "οδος": ["GRK"], "ΟΔΟΣ": ["GRK"], "ελπίδας": ["GRK"], "ΕΛΠΊΔΑΣ": ["GRK"], "ελπιδας": [],
    "straße": ["STR"], "STRASSE": [], "strasse": [],
}


def test_search_is_the_same_word_match_on_every_backend(store):
    for code, name in SEARCHED.items():
        store.create_room(code, name)
    got = {q: sorted(r.room_code for r in store.search_rooms(q)) for q in SEARCH_CASES}
    assert got == {q: sorted(codes) for q, codes in SEARCH_CASES.items()}


def test_search_follows_room_names_with_the_same_rule(store):
    r = store.create_room("UPD", "Plain")
    store.update_room(r.id, name="Café-Théâtre")
    assert [x.id for x in store.search_rooms("THÉÂTRE café")] == [r.id]
    assert store.search_rooms("theatre") == []
    assert store.search_rooms("plain") == []
