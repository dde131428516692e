"""Exact answers of redaction and the registry on the edge cases a careless
change would get wrong (each found surviving a mutation run of urls.py)."""
import pytest

import liapstore
from liapstore import InvalidInput
from liapstore.backends.sqlite import SqliteStore
from liapstore.urls import backend_class, redact, register_backend


@pytest.mark.parametrize("url, shown", [
    # A password holding ":" is hidden whole.
    ("postgresql://u:p:w@h/db", "postgresql://u:***@h/db"),
    # An "@" in the query is not the end of the userinfo.
    ("postgresql://u:pw@h/db?application_name=a@b", "postgresql://u:***@h/db?application_name=a@b"),
    # "://" in the query does not start another URL.
    ("postgresql://u:pw@h/db?next=http://x", "postgresql://u:***@h/db?next=http://x"),
    # A user name with capitals (nothing is searched for but "/", "?", "#").
    ("postgresql://Xavier:pw@h/db", "postgresql://Xavier:***@h/db"),
    # A password with an unescaped "/" and ":" inside.
    ("postgresql://u:p:w/x@h/db", "postgresql://u:***@h/db"),
    # A SQLite path holding ":" and "@" is a path, not userinfo: left as it is.
    ("sqlite:///data/a:b@c.db", "sqlite:///data/a:b@c.db"),
    ("sqlite:////srv/u:x@y/game.db", "sqlite:////srv/u:x@y/game.db"),
])
def test_urls_are_redacted_exactly(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize("url, message", [
    # A shorter secret inside a longer one: the longer is hidden first,
    # whatever the alphabetical order of the two.
    ("postgresql://u:hunter@h/db?sslpassword=ahunter", "login ahunter failed"),
    ("postgresql://u:ab12@h/db?sslpassword=ab123", "login ab123 failed"),
    # The password of a URL with an unescaped "/" in it, echoed by a driver.
    ("postgresql://u:p/w@h/db", "login p/w failed"),
    # libpq quoting: the driver echoes the unquoted value.
    ("host=h password='it\\'s'", "login it's failed"),
])
def test_secrets_echoed_in_a_message_are_hidden_whole(url, message):
    assert redact(message, url=url) == "login *** failed"


def test_registry_messages():
    with pytest.raises(InvalidInput) as e:
        register_backend("9bad", "x:y")
    assert str(e.value) == ("not a URL scheme: '9bad' (a letter, then letters, digits, "
                            "'+', '-' or '.')")
    with pytest.raises(InvalidInput) as e:
        liapstore.connect(5)
    assert str(e.value).startswith("not a storage URL: a int; expected scheme://..., "
                                   "supported schemes: memory, postgres, postgresql, sqlite")
    with pytest.raises(InvalidInput) as e:
        liapstore.connect("nosuch://x")
    assert "supported schemes: memory, postgres, postgresql, sqlite" in str(e.value)


def test_the_scheme_is_what_precedes_the_first_separator():
    assert backend_class("sqlite:///tmp/a://b.db") is SqliteStore
