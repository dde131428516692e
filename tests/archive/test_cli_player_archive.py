"""The player and archive commands on a simulated database."""
import json

import pytest
from click.testing import CliRunner

import liapstore
from liapstore.cli import main


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.backends("sqlite", "postgres")
def test_export_erase_archive_restore(store_url, tmp_path):
    run("simulate", "--url", store_url, "--games", 3, "--seed", 2, "--winning-score", 10,
        "--max-rounds", 3)
    assert "bot_1" in run("player", "bot_1", "--url", store_url)
    assert "bot_1" in run("player", "show", "bot_1", "--url", store_url)
    data = json.loads(run("player", "export", "bot_1", "--url", store_url))
    assert data["profile"]["username"] == "bot_1" and data["games"]
    assert "--yes" in run("player", "erase", "bot_1", "--url", store_url, code=2)
    out = run("player", "erase", "bot_1", "--yes", "--url", store_url)
    assert "erased bot_1: now erased-" in out
    run("player", "bot_1", "--url", store_url, code=1)
    assert "0 with disagreements" in run("verify", "--all", "--stats", "--url", store_url)

    target = (tmp_path / "archive").as_uri()
    done = json.loads(run("archive", "--older-than", "0d", "--to", target, "--url", store_url))
    assert done["games"] == 3
    assert json.loads(run("archive", "--older-than", "0d", "--to", target,
                          "--url", store_url))["games"] == 0
    with liapstore.connect(store_url) as store:
        game_id = store.list_games().items[0].id
        assert store.status()["rows"]["archived_games"] == 3
    assert "game over" in run("replay", game_id, "--url", store_url)
    assert "3 intact" in run("verify", "--all", "--url", store_url)
    assert json.loads(run("archive", "restore", game_id, "--url", store_url))["games"] == 1
    assert json.loads(run("archive", "restore", "--all", "--url", store_url))["games"] == 2
    run("archive", "restore", "--url", store_url, code=2)
    run("archive", "--older-than", "soon", "--url", store_url, code=2)
    assert "3 intact" in run("verify", "--all", "--stats", "--url", store_url)
