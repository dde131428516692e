"""The progress commands on a simulated database: leaderboards, a player's
page, the analytics report, verify --stats; correct the moment the last game
ends (no refresh in between)."""
import pytest
from click.testing import CliRunner

import liapstore
from liapstore.cli import main


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _table(out):
    """The rows of the first table printed (after its header and rule)."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("----"))
    rows = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


@pytest.mark.backends("sqlite", "postgres")
def test_progress_commands_on_a_simulated_database(store_url):
    run("simulate", "--url", store_url, "--games", 24, "--seed", 5,
        "--winning-score", 1, "--max-rounds", 1)
    with liapstore.connect(store_url) as store:
        board = list(store.leaderboard(by="wins", limit=100))
        assert board, "nobody reached ten games"
        by_winrate = list(store.leaderboard(by="winrate", limit=100))

    rows = _table(run("leaderboard", "--url", store_url, "--limit", 100))
    assert [(int(r[0]), r[1]) for r in rows] == [(e.rank, e.username) for e in board]
    rows = _table(run("leaderboard", "--url", store_url, "--by", "winrate", "--season", "week"))
    assert [(int(r[0]), r[1]) for r in rows] == [(e.rank, e.username) for e in by_winrate][:20]
    me = board[len(board) // 2]
    rows = _table(run("leaderboard", "--url", store_url, "--around", me.username, "--limit", 4))
    assert [r[1] for r in rows if r[2] == "<"] == [me.username]

    page = run("player", "--url", store_url, me.username, "--games", 3)
    assert me.username in page and f"games {me.games_played}, won {me.games_won}" in page
    ranks = _table(page[page.index("ranks"):])
    assert ranks[0][:3] == ["all", "time", f"#{me.rank}"]
    history = _table(page[page.index("ended"):])
    assert len(history) == 3 and all(r[3] in ("won", "lost", "tie") for r in history)
    assert "achievements:" in page and "friends:" in page

    report = run("analytics", "--url", store_url)
    header = report.splitlines()[0].split()
    assert {"game_started", "game_finished", "round_scored"} <= set(header)
    [day] = _table(report)
    assert day[header.index("game_finished")] == "24"
    games = _table(report.split("\n\n")[1])
    assert games[0][1] == "24"

    assert "0 disagreement(s)" in run("verify", "--url", store_url, "--stats")
    run("player", "--url", store_url, "nobody_here", code=1)
    run("leaderboard", "--url", store_url, "--season", "no-such", code=1)


@pytest.mark.backends("sqlite")
def test_verify_stats_exits_2_on_drift(store_url):
    run("simulate", "--url", store_url, "--games", 3, "--winning-score", 1, "--max-rounds", 1)
    with liapstore.connect(store_url) as store:
        p = next(iter(store.list_players()))
        store._update("players", [("id", "=", p.id)], {"total_score": p.total_score + 7})
    out = run("verify", "--url", store_url, "--stats", code=2)
    assert "total_score" in out and "1 disagreement(s)" in out
    out = run("verify", "--url", store_url, "--all", "--stats", code=2)
    assert "3 intact" in out


def test_maintain_retains_months(store_url):
    out = run("maintain", "--url", store_url, "--retain-months", 3)
    assert '"analytics_retention"' in out and '"events_deleted": 0' in out
    run("maintain", "--url", store_url, "--retain-months", 0, code=2)
