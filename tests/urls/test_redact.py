"""Secrets never reach a message: liapstore.urls.redact, the one function that
hides them, in every form a URL or connection string can take, and the places
that print a URL."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import liapstore
from liapstore import InvalidInput, StorageUnavailable
from liapstore.cli import main
from liapstore.urls import redact

HIDDEN = [
    # userinfo
    ("postgresql://u:hunter2@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("redis://:hunter2@h:6379/0", "redis://:***@h:6379/0"),
    ("postgresql://u:hunter2@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
    ("postgresql://u:hun%40ter2@h/db", "postgresql://u:***@h/db"),
    # an unescaped "@" in the password: the host starts after the LAST "@",
    # as urllib (and so the backends) read it.
    ("postgresql://bob:p@ss@host/db", "postgresql://bob:***@host/db"),
    ("postgresql://bob:a@b@c@host:5432/db?sslmode=require",
     "postgresql://bob:***@host:5432/db?sslmode=require"),
    # URLs too broken to parse: a port that is no number, an unescaped "/"
    # or "#" in the password (urllib would take them for the path).
    ("postgresql://u:hunter2@h:notaport/db", "postgresql://u:***@h:notaport/db"),
    ("postgresql://u:hun/ter#2@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:hun?ter2@h/db", "postgresql://u:***@h/db"),
    # secrets in the query string
    ("postgresql://bob@host/db?password=hunter2", "postgresql://bob@host/db?password=***"),
    ("postgresql:///db?host=/tmp&password=hunter2&port=5",
     "postgresql:///db?host=/tmp&password=***&port=5"),
    ("postgresql://h/db?sslpassword=hunter2&PASSWORD=hunter2#x",
     "postgresql://h/db?sslpassword=***&PASSWORD=***#x"),
    ("postgresql://u:hunter2@h/db?password=hunter2", "postgresql://u:***@h/db?password=***"),
    ("postgresql://h/db?client_secret=hunter2&access_token=hunter2",
     "postgresql://h/db?client_secret=***&access_token=***"),
    # libpq key=value strings
    ("host=h user=u password=hunter2 dbname=d", "host=h user=u password=*** dbname=d"),
    ("host=h password = hunter2", "host=h password = ***"),
    ("host=h password='hun ter2' dbname=d", "host=h password=*** dbname=d"),
    ("host=h password='it\\'s hunter2' dbname=d", "host=h password=*** dbname=d"),
    ("host=h password='unterminated hunter2", "host=h password=***"),
    ("host=h sslpassword=hunter2 password=a&hunter2", "host=h sslpassword=*** password=***"),
    # text holding a URL
    ("cannot open postgresql://u:hunter2@h/db: refused", "cannot open postgresql://u:***@h/db: refused"),
]

UNCHANGED = [
    "postgresql://u@h/db", "postgresql://h:5432/db?application_name=a@b", "sqlite:///x.db",
    "sqlite:///dir@2024/x.db", "memory://", "postgresql://[::1]:5432/db?application_name=a@b", "postgresql://h/db?passwordless=1x", "", "host=h port=5",
]


@pytest.mark.parametrize("text, expected", HIDDEN)
def test_redact_hides_the_secret(text, expected):
    assert redact(text) == expected
    assert "hunter2" not in redact(text) and "ter2" not in redact(text)


@pytest.mark.parametrize("text", UNCHANGED)
def test_redact_leaves_secret_free_text_alone(text):
    assert redact(text) == text


def test_redact_passes_non_strings_through():
    assert redact(None) is None and redact(42) == 42


def test_redact_also_hides_a_urls_secrets_echoed_in_a_message():
    url = "postgresql://bob:p%40ss@h/db?sslpassword=k3y"
    echoed = 'missing "=" after "p@ss" in connection info; p%40ss; key k3y'
    shown = redact(echoed, url)
    assert "p@ss" not in shown and "p%40ss" not in shown and "k3y" not in shown
    assert redact("it's s3cr3t here", "host=h password='s3cr3t'") == "it's *** here"


def test_the_test_helpers_use_the_same_function():
    from support import servers
    for text, expected in HIDDEN:
        assert servers.hide_password(text) == expected


def test_the_test_helpers_import_without_peewee_or_drivers():
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import sys; import support.servers; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('peewee', 'playhouse', 'psycopg', 'redis')]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tests_dir, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr


# -- every place that prints a URL ---------------------------------------------

UNREACHABLE = [  # port 1: nothing listens there, so connecting fails at once
    "postgresql://bob@127.0.0.1:1/db?password=hunter2&connect_timeout=2",
    "postgresql:///db?host=127.0.0.1&port=1&password=hunter2&connect_timeout=2",
    "postgresql://bob:p@ss@hunter2@127.0.0.1:1/db?connect_timeout=2",
    "postgresql://bob:hunter2@127.0.0.1:1/db?sslpassword=hunter2&connect_timeout=2",
]


@pytest.mark.parametrize("url", UNREACHABLE)
def test_connection_errors_hide_the_password(url):
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect(url)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)
    assert "***" in str(info.value)


@pytest.mark.parametrize("url", ["postgresql://u:hunter2@h:notaport/db",
                                 "nosuch://u:hunter2@h/db", "nosuch://u:p@ss@hunter2@h/db",
                                 "host=h password=hunter2 dbname=d"])
def test_malformed_url_errors_hide_the_password(url):
    with pytest.raises(InvalidInput) as info:
        liapstore.connect(url)
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


def test_repr_and_status_hide_the_password():
    store = liapstore.connect("memory://")
    # repr() and status() show whatever URL the store was opened with.
    store.url = "postgresql://bob:p@ss@hunter2@h/db?password=hunter2"
    assert "hunter2" not in repr(store) and "***" in repr(store)
    assert "hunter2" not in str(store.status()) and "***" in store.status()["url"]


def test_the_cli_hides_the_password():
    for command in ("status", "migrate"):
        result = CliRunner().invoke(main, [command, "--url", UNREACHABLE[0]])
        assert result.exit_code == 1
        assert "hunter2" not in result.output and "***" in result.output
