"""The liapstore command, through click's test runner, on each backend's URL."""
import json
import sqlite3

import pytest
from click.testing import CliRunner

from liapstore.cli import main
from liapstore.schema import migrations

LATEST = len(migrations.names())


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_migrate_and_status_on_every_backend(store_url):
    out = run("migrate", "--url", store_url)
    assert f"schema version {LATEST}/{LATEST}" in out
    out = run("status", "--url", store_url)
    assert f"schema version  {LATEST}/{LATEST}" in out and "players" in out


@pytest.mark.backends("sqlite", "postgres")
def test_simulate_then_inspect_and_verify(store_url):
    out = run("simulate", "--url", store_url, "--games", 2, "--seed", 3,
              "--winning-score", 15, "--max-rounds", 3)
    assert "games           2" in out and "actions stored" in out and "standings" in out
    listing = run("games", "--url", store_url).splitlines()
    assert len(listing) == 2 and all("over" in line for line in listing)
    game_id = listing[0].split()[0]
    assert "result:" in run("show", "--url", store_url, game_id)
    transcript = run("replay", "--url", store_url, game_id)
    assert transcript.startswith("#1") and "game over" in transcript
    assert "2 intact, 0 with disagreements" in run("verify", "--url", store_url, "--all")


@pytest.mark.backends("sqlite")
def test_verify_exits_non_zero_on_corrupted_data(store_url):
    run("simulate", "--url", store_url, "--games", 1, "--winning-score", 15, "--max-rounds", 3)
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE turns SET pile_count = pile_count + 1 WHERE turn_number = 2")
    out = run("verify", "--url", store_url, "--all", code=2)
    assert "turn 2: stored piles" in out and "1 with disagreements" in out


def test_bad_input_is_one_line_not_a_traceback(store_url):
    out = run("show", "--url", store_url, "not-a-uuid", code=1)
    assert "InvalidInput" in out and "Traceback" not in out
    out = run("status", "--url", "nosuch://x", code=1)
    assert "supported schemes" in out


@pytest.mark.backends("sqlite", "postgres")
def test_achievements_list_and_backfill(store_url):
    run("simulate", "--url", store_url, "--games", 3, "--seed", 5, "--winning-score", 15,
        "--max-rounds", 3)
    listing = run("achievements", "list", "--url", store_url)
    assert "first_win" in listing and "games_100" in listing
    holders = {line[:22].strip(): int(line[47:56]) for line in listing.splitlines()[1:]}
    assert holders["first_win"] > 0 and holders["games_100"] == 0
    assert "awarded 0 achievements" in run("achievements", "backfill", "--url", store_url)


def test_maintain_reports_what_it_did(backend, store_url):
    report = json.loads(run("maintain", "--url", store_url))
    # Only PostgreSQL keeps a materialized leaderboard to refresh; SQLite's
    # and memory's are computed when read.
    assert report == {"partitions_created": 0, "expired_sessions_deleted": 0,
                      "leaderboard_refreshed": backend == "postgres"}
