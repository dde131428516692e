"""Storage URLs: resolving, redacting and registering backends (no database needed)."""
import os
import subprocess
import sys

import pytest

import liapstore
from liapstore import InvalidInput, StorageUnavailable
from liapstore import urls
from liapstore.backends.memory import MemoryStore


def test_unknown_scheme_lists_the_supported_ones():
    with pytest.raises(InvalidInput) as info:
        liapstore.connect("mysql://user@host/db")
    message = str(info.value)
    assert "mysql" in message
    for scheme in ("memory", "sqlite", "postgresql", "postgres"):
        assert scheme in message


@pytest.mark.parametrize("url", ["", "just-a-path.db", "sqlite:/one-slash.db", "://nothing", 42,
                                 ["memory://"]])
def test_malformed_urls_are_invalid_input(url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIAPSTORE_URL", raising=False)
    if url == "":
        # An empty URL means "the default", like None.
        with liapstore.connect(url) as s:
            assert s.backend == "sqlite"
        return
    with pytest.raises(InvalidInput) as info:
        liapstore.connect(url)
    assert "supported schemes" in str(info.value)


def test_malformed_url_with_a_password_does_not_leak_it():
    with pytest.raises(InvalidInput) as info:
        liapstore.connect("nosuch://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_password_is_hidden_when_the_server_is_unreachable():
    url = "postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect(url)
    message = str(info.value)
    assert "s3cret" not in message
    assert "postgresql://u:***@127.0.0.1:1/db" in message
    assert "s3cret" not in repr(info.value)


def test_password_with_special_characters_is_hidden():
    url = "postgresql://u:p%40ss%2Fw0rd@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect(url)
    message = str(info.value)
    assert "p%40ss" not in message and "p@ss/w0rd" not in message and "w0rd" not in message
    assert "***" in message


def test_store_repr_hides_the_password():
    store = MemoryStore()
    store.url = "postgresql://u:pw@h/db"
    assert "pw" not in repr(store) and "***" in repr(store)


def test_liapstore_url_environment_variable(monkeypatch, tmp_path):
    path = tmp_path / "from_env.db"
    monkeypatch.setenv("LIAPSTORE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    with liapstore.connect() as s:
        assert s.backend == "sqlite"
        s.create_player("alice")
    assert path.exists()
    assert not (tmp_path / "liapstore.db").exists()
    with liapstore.connect(f"sqlite:///{path}") as s:
        assert s.get_player_by_username("alice").username == "alice"
    # An explicit URL wins over the environment.
    with liapstore.connect("memory://") as s:
        assert s.backend == "memory"


def test_default_url_is_a_sqlite_file_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("LIAPSTORE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with liapstore.connect() as s:
        assert s.backend == "sqlite"
        s.create_player("alice")
    assert (tmp_path / "liapstore.db").exists()
    with liapstore.connect(liapstore.DEFAULT_URL) as s:
        assert s.get_player_by_username("alice").username == "alice"


def test_sqlite_relative_and_absolute_paths(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with liapstore.connect("sqlite:///rel.db") as s:
        s.create_player("alice")
    assert (tmp_path / "rel.db").exists()
    with liapstore.connect(f"sqlite:///{tmp_path / 'abs.db'}") as s:
        s.create_player("alice")
    assert (tmp_path / "abs.db").exists()


def test_unknown_options_are_invalid_input(tmp_path):
    with pytest.raises(InvalidInput):
        liapstore.connect(f"sqlite:///{tmp_path / 'x.db'}?frobnicate=1")
    with pytest.raises(InvalidInput):
        liapstore.connect("memory://", size=3)
    with pytest.raises(InvalidInput):
        liapstore.connect(f"sqlite:///{tmp_path / 'y.db'}", frobnicate=1)
    with pytest.raises(InvalidInput):
        liapstore.connect(f"sqlite:///{tmp_path / 'z.db'}?synchronous=sometimes")


class CountingStore(MemoryStore):
    opened = []

    def __init__(self, url, **options):
        super().__init__("memory://")
        self.url = url
        CountingStore.opened.append((url, options))


def test_register_backend_with_a_class(monkeypatch):
    monkeypatch.setitem(urls.backends, "counting", CountingStore)
    liapstore.register_backend("counting", CountingStore)
    assert "counting" in liapstore.supported_schemes()
    with liapstore.connect("counting://anything") as s:
        assert isinstance(s, CountingStore)
        assert s.create_player("alice").username == "alice"
    assert CountingStore.opened[-1] == ("counting://anything", {})


def test_register_backend_with_a_module_path(monkeypatch):
    monkeypatch.setitem(urls.backends, "lazy", None)
    liapstore.register_backend("lazy", "liapstore.backends.memory:MemoryStore")
    with liapstore.connect("lazy://") as s:
        assert isinstance(s, MemoryStore)
    with pytest.raises(InvalidInput):  # MemoryStore takes no options
        liapstore.connect("lazy://", size=3)


def test_scheme_is_case_insensitive():
    with liapstore.connect("MEMORY://") as s:
        assert s.backend == "memory"


def test_importing_liapstore_loads_no_driver():
    code = ("import liapstore, sys; "
            "bad = [m for m in sys.modules if m.startswith(('psycopg', 'redis', 'cryptography', "
            "'peewee', 'playhouse', "
            "'pytest', '_pytest', 'liapstore.testing'))]; "
            "assert not bad, bad")
    env = {k: v for k, v in os.environ.items() if k != "LIAPSTORE_URL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def test_postgresql_without_a_driver_says_what_to_install(monkeypatch):
    import peewee
    monkeypatch.setattr(peewee, "psycopg", None)
    monkeypatch.setattr(peewee, "psycopg2", None)
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect("postgresql://u:pw@127.0.0.1/db")
    assert "liapstore[postgres]" in str(info.value) and "pw@" not in str(info.value)


def test_register_backend_ignores_the_schemes_case(monkeypatch):
    monkeypatch.setattr(urls, "backends", dict(urls.backends))
    liapstore.register_backend("MixedCase", "liapstore.backends.memory:MemoryStore")
    assert "mixedcase" in liapstore.supported_schemes()
    assert "MixedCase" not in liapstore.supported_schemes()
    for url in ("mixedcase://", "MIXEDCASE://", "MixedCase://"):
        with liapstore.connect(url) as s:
            assert isinstance(s, MemoryStore)


@pytest.mark.parametrize("scheme", ["", "1abc", "my store", "a/b", None])
def test_register_backend_refuses_what_is_no_scheme(scheme):
    with pytest.raises(InvalidInput):
        liapstore.register_backend(scheme, MemoryStore)


def _install_distribution(path, module_source, entry_points):
    """A minimal installed distribution in ``path``: what pip leaves in site-packages."""
    (path / "ep_backend_for_tests.py").write_text(module_source)
    info = path / "ep_backend_for_tests-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-backend-for-tests\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_a_backend_is_found_through_its_entry_point(monkeypatch, tmp_path):
    monkeypatch.setattr(urls, "backends", dict(urls.backends))
    _install_distribution(tmp_path, (
        "from liapstore.backends.memory import MemoryStore\n"
        "class EntryStore(MemoryStore):\n"
        "    backend = 'entrypoint'\n"
        "    def __init__(self, url, **options):\n"
        "        super().__init__('memory://', **options)\n"
        "        self.url = url\n"),
        "[liapstore.backends]\nEntryPoint = ep_backend_for_tests:EntryStore\n"
        "broken = ep_backend_for_tests:NoSuchClass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ep_backend_for_tests", raising=False)
    assert "entrypoint" in liapstore.supported_schemes()
    with liapstore.connect("entrypoint://x") as s:
        assert type(s).__name__ == "EntryStore" and s.backend == "entrypoint"
        assert s.create_player("alice").username == "alice"
    with liapstore.connect("ENTRYPOINT://x") as s:
        assert s.backend == "entrypoint"
    with pytest.raises(StorageUnavailable) as info:
        liapstore.connect("broken://")
    assert "NoSuchClass" in str(info.value)


def test_an_entry_point_does_not_replace_a_registered_backend(monkeypatch, tmp_path):
    monkeypatch.setattr(urls, "backends", dict(urls.backends))
    _install_distribution(tmp_path, "raise ImportError('must not be imported')\n",
                          "[liapstore.backends]\nmemory = ep_backend_for_tests:Other\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    liapstore.supported_schemes()
    with liapstore.connect("memory://") as s:
        assert type(s) is MemoryStore
