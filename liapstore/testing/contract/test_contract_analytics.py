"""Analytics: lifecycle events written with what they describe, reports per
day, a player's events, retention."""
from datetime import datetime, timedelta, timezone

import liapstore
from liapstore import InvalidInput
from liapstore.testing.support import MEDIUM, SHORT, expect, find_seed, play_recorded, record, script, start

UTC = timezone.utc


def _redeals(sc):
    return sum(a["type"] == "deal" for a in sc.actions) - sc.game_over["rounds"]


def test_lifecycle_events_follow_the_game(store):
    seed, _ = find_seed(lambda s: _redeals(s) > 0 and s.game_over["rounds"] >= 2, settings=MEDIUM)
    table, sc, game = play_recorded(store, seed, settings=MEDIUM)
    events = list(store.list_events(game_id=game.id, limit=1000))
    kinds = [e.event_type for e in events]
    assert kinds[0] == "game_started" and kinds[-1] == "game_finished"
    assert kinds.count("redeal") == _redeals(sc)
    assert kinds.count("round_scored") == sc.game_over["rounds"]
    started = events[0]
    assert started.room_id == table.room.id
    assert started.event_data["players"] == [str(p.id) for p in table.players]
    assert started.timestamp == game.started_at
    scored = [e.event_data for e in events if e.event_type == "round_scored"]
    assert scored == [r.round_data for r in store.list_rounds(game.id)]
    finished = events[-1]
    assert finished.timestamp == game.ended_at and finished.room_id == table.room.id
    assert finished.event_data == {"winner_id": None if game.winner_id is None else str(game.winner_id),
                                   "totals": game.final_scores["totals"],
                                   "rounds": game.final_scores["rounds"]}
    # Each event carries the time of the action that settled it.
    times = {a.timestamp for a in store.list_actions(game.id)}
    assert all(e.timestamp in times for e in events[1:])


def test_events_and_statistics_roll_back_with_the_action(store):
    table = start(store, **SHORT)
    steps = script(11).steps
    record(store, table.game.id, steps[:-1])
    before = [e.id for e in store.list_events(limit=1000)]
    try:
        with store.transaction():
            store.record_action(table.game.id, steps[-1][0], steps[-1][2])
            assert store.get_game(table.game.id).finished
            raise RuntimeError("the server gives up")
    except RuntimeError:
        pass
    assert [e.id for e in store.list_events(limit=1000)] == before
    assert not store.get_game(table.game.id).finished
    assert all(store.get_player(p.id).games_played == 0 for p in table.players)
    assert store.verify_stats() == []
    store.record_action(table.game.id, steps[-1][0], steps[-1][2])
    assert store.list_events(limit=1000)[-1].event_type == "game_finished"
    assert store.verify_stats() == []


def test_reports_per_day(store):
    games = [play_recorded(store, 20 + k, code=f"REP{k}")[2] for k in range(3)]
    today = datetime.now(UTC).date()
    counts = {(c.day, c.event_type): c.count for c in store.event_counts()}
    events = list(store.list_events(limit=1000))
    expected = {}
    for e in events:
        expected[(e.timestamp.date(), e.event_type)] = expected.get((e.timestamp.date(), e.event_type), 0) + 1
    assert counts == expected
    assert counts[(today, "game_finished")] == 3 == counts[(today, "game_started")]
    assert all(isinstance(c, liapstore.EventCount) for c in store.event_counts())

    [day] = store.games_per_day()
    assert (day.day, day.games) == (today, 3)
    lengths = [(g.ended_at - g.started_at).total_seconds() for g in games]
    assert abs(day.average_seconds - sum(lengths) / 3) < 0.06
    assert day.average_rounds == round(sum(g.final_scores["rounds"] for g in games) / 3, 2)

    tomorrow = today + timedelta(days=1)
    assert store.event_counts(since=tomorrow, until=tomorrow + timedelta(days=2)) == []
    assert store.games_per_day(since=today - timedelta(days=3), until=today) == []
    assert store.games_per_day(since=today, until=tomorrow) == [day]
    expect(InvalidInput, store.event_counts, since=today, until=today)
    expect(InvalidInput, store.games_per_day, since=datetime(2024, 1, 1))
    expect(InvalidInput, store.event_counts, until="2024-01-01")


def test_a_players_events(store):
    table, sc, game = play_recorded(store, 31)
    other, _, _ = play_recorded(store, 32, code="PEV2")
    me = table.players[0]
    own = store.record_event("profile_viewed", player_id=me.id)
    got = list(store.player_events(me.id, limit=1000))
    assert {e.game_id for e in got if e.game_id} == {game.id}
    assert got[-1] == own
    assert len(got) == len(store.list_events(game_id=game.id, limit=1000)) + 1
    assert [e.timestamp for e in got] == sorted(e.timestamp for e in got)
    paged, after = [], None
    while True:
        page = store.player_events(me.id, limit=3, after=after)
        paged += list(page)
        if not (after := page.next_cursor):
            break
    assert paged == got
    assert list(store.player_events(me.id, since=own.timestamp)) == [own]
    assert list(store.player_events(other.players[0].id, until=other.game.started_at)) == []
    expect(InvalidInput, store.player_events, "x")


def test_retention_drops_old_events(store):
    now = datetime.now(UTC)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    keep = [store.record_event("now"), store.record_event("last_month", timestamp=month_start - timedelta(days=3))]
    for days in (40, 100, 500):
        store.record_event("old", timestamp=month_start - timedelta(days=days))
    done = store.maintain(retain_months=1)
    retention = done["analytics_retention"]
    cutoff = datetime.fromisoformat(retention["cutoff"])
    assert cutoff == (month_start - timedelta(days=1)).replace(day=1)
    assert list(store.list_events(event_type="old")) == []
    assert {e.id for e in store.list_events(limit=1000)} == {e.id for e in keep}
    assert retention["events_deleted"] == 3
    expect(InvalidInput, store.maintain, retain_months=0)
    assert "analytics_retention" not in store.maintain()
