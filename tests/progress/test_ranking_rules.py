"""The ranking rules of liapstore/ranking.py, as pure functions: periods
switch on schedule (UTC ISO weeks, calendar months), RANK() over a run of a
board, counts and their deltas."""
import random
from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from liapstore import ranking

UTC = timezone.utc


def test_a_new_week_and_month_start_on_schedule():
    sunday = datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC)
    monday = sunday + timedelta(microseconds=1)
    assert ranking.periods_at(sunday) == ["all", "week:2026-W48", "month:2026-11"]
    assert ranking.periods_at(monday) == ["all", "week:2026-W49", "month:2026-11"]
    new_year = datetime(2027, 1, 1, tzinfo=UTC)
    # 1 January 2027 is a Friday: ISO week 53 of 2026, month 2027-01.
    assert ranking.periods_at(new_year, ["winter"]) == [
        "all", "week:2026-W53", "month:2027-01", "season:winter"]
    # The period is the UTC one, whatever the time zone of the moment.
    tokyo = timezone(timedelta(hours=9))
    assert ranking.month_key(datetime(2026, 12, 1, 8, tzinfo=tokyo)) == "month:2026-11"


def test_parse_period():
    now = datetime(2026, 11, 27, tzinfo=UTC)
    assert ranking.parse_period(None, now) == ranking.parse_period("all", now) == "all"
    assert ranking.parse_period("week", now) == "week:2026-W48"
    assert ranking.parse_period("month", now) == "month:2026-11"
    assert ranking.parse_period("week:2020-W53", now) == "week:2020-W53"
    assert ranking.parse_period("week:2021-W53", now) is False     # 2021 has 52 ISO weeks
    assert ranking.parse_period("month:2026-00", now) is False
    assert ranking.parse_period("autumn", now) is None              # a named season


def _rank_all(board, rows):
    return [1 + sum(ranking.value(board, q) > ranking.value(board, r) for q in rows) for r in rows]


@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), st.data())
def test_assign_ranks_of_any_run_equals_rank(values, data):
    rows = sorted(({"games_won": x, "username": f"u{i:02d}"} for i, x in enumerate(values)),
                  key=lambda r: ranking.order_key("wins", r))
    expected = _rank_all("wins", rows)
    assert ranking.assign_ranks("wins", rows, 0, None) == expected
    start = data.draw(st.integers(0, len(rows) - 1))
    end = data.draw(st.integers(start + 1, len(rows)))
    first = ranking.value("wins", rows[start])
    better = sum(ranking.value("wins", r) > first for r in rows)
    total = sum(ranking.value("wins", r) == first for r in rows)
    assert ranking.assign_ranks("wins", rows[start:end], better, total) == expected[start:end]


def test_counts_and_deltas():
    rng = random.Random(5)
    rows = []
    for i in range(300):
        played = rng.randint(0, 40)
        won = rng.randint(0, played)
        rows.append({**ranking.blank("all", i, f"u{i}"), "games_played": played, "games_won": won,
                     "highest_score": rng.randint(0, 200), "win_rate": ranking.win_rate(won, played)})
    values, buckets = ranking.counts_of(rows)
    ranked = [r for r in rows if r["games_played"] >= 10]
    for board in ranking.BOARDS:
        assert sum(n for k, n in values.items() if k[1] == board) == len(ranked)
        for r in ranked[:20]:
            x = ranking.value(board, r)
            b = ranking.bucket(board, x)
            better = sum(n for k, n in buckets.items() if k[1] == board and k[2] > b) + sum(
                n for k, n in values.items() if k[1] == board and k[2] == b and k[3] > x)
            assert better == sum(ranking.value(board, q) > x for q in ranked)
    # One more game for a player moves their counts, and nothing else.
    before = rows[7]
    after = ranking.add_game(before, True, 150)
    dv, db = ranking.count_deltas([before], [after])
    merged = dict(values)
    for k, n in dv.items():
        merged[k] = merged.get(k, 0) + n
    assert {k: n for k, n in merged.items() if n} == ranking.counts_of(rows[:7] + [after] + rows[8:])[0]
    assert after["win_rate"] == after["games_won"] / after["games_played"]
