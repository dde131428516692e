"""``liapstore audit`` and ``liapstore migrate --grant-to``, through click's test runner."""
import pytest
from click.testing import CliRunner

import liapstore
from liapstore.cli import main


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.backends("sqlite", "postgres")
def test_audit_lists_who_changed_what_filtered(store_url):
    with liapstore.connect(store_url) as s:
        alice = s.create_player("alice")
        bob = s.create_player("bob")
        with s.acting_as(alice.id, "192.0.2.44"):
            s.update_player(alice.id, display_name="Alice A.")
            s.create_session(alice.id, user_agent="ua")
        s.create_room("AUDIT", "Audited")
        first_id = s.list_audit_log().items[0].id
    out = run("audit", "--url", store_url)
    lines = out.splitlines()
    assert lines[0].split() == ["id", "time", "(UTC)", "table", "operation", "by", "from", "row"]
    assert lines[-1] == "5 entries"
    assert any("alice" in l and "192.0.2.44" in l and "Alice A." in l for l in lines)
    assert "token" not in out
    out = run("audit", "--url", store_url, "--player", "alice")
    assert out.splitlines()[-1] == "2 entries" and "player_sessions" in out
    out = run("audit", "--url", store_url, "--table", "rooms")
    assert out.splitlines()[-1] == "1 entry" and "AUDIT" in out
    assert run("audit", "--url", store_url, "--since", "2999-01-01").splitlines()[-1] == "0 entries"
    assert str(first_id) in run("audit", "--url", store_url, "--since", "2000-01-01", "--limit", 1)
    assert "NotFound" in run("audit", "--url", store_url, "--player", "nobody", code=1)
    del bob


def test_grant_to_needs_postgresql(tmp_path):
    out = run("migrate", "--url", f"sqlite:///{tmp_path / 'g.db'}", "--grant-to", "app", code=1)
    assert "InvalidInput" in out and "PostgreSQL" in out
