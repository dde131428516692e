"""Snapshot files: damaged, truncated, newer or mismatched files are refused
with a clear error before anything is written; key tables live in the key
file only. Made and restored on the memory backend (the file format is the
same for every backend; the contract suite restores into each)."""
import gzip
import shutil
import json

import pytest
from click.testing import CliRunner

import liapstore
from liapstore import Conflict, InvalidInput, SchemaOutdated
from liapstore.cli import main
from liapstore.ops import copy, snapshot
from liapstore.ops.snapshot import CorruptSnapshot
from liapstore.ops.tables import KEY_TABLES
from liapstore.testing.contract.test_contract_copy import fill


@pytest.fixture
def source():
    store = liapstore.connect("memory://")
    fill(store)
    return store


@pytest.fixture
def snap(source, tmp_path):
    path = str(tmp_path / "snap.gz")
    snapshot.backup(source, path)
    return path


def lines(path):
    with gzip.open(path, "rt") as f:
        return [json.loads(x) for x in f]


def write(path, values):
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(x) + "\n" for x in values)


def assert_refused(path, error, match, **options):
    with liapstore.connect("memory://") as target:
        with pytest.raises(error, match=match):
            snapshot.restore(path, target, **options)
        assert not any(copy.counts(target).values()), "a refused restore wrote something"


def test_the_manifest_records_versions_and_the_counts_of_the_moment(source, snap):
    manifest = snapshot.read_manifest(snap)
    assert manifest["liapstore_snapshot"] == snapshot.FORMAT
    assert manifest["schema_version"] == source.schema_version()[1]
    # The data file's manifest: the key store's rows are in the key file.
    assert manifest["rows"] == {t: n for t, n in copy.counts(source).items() if t not in KEY_TABLES}
    assert manifest["checksums"] == {t.table: t.checksum for t in copy.checksums(source)
                                     if t.table not in KEY_TABLES}


def test_a_truncated_file_is_refused(snap, tmp_path):
    data = open(snap, "rb").read()
    for cut in (10, len(data) // 2, len(data) - 3):
        short = tmp_path / f"short{cut}.gz"
        short.write_bytes(data[:cut])
        assert_refused(str(short), CorruptSnapshot, "damaged or truncated")


def test_a_damaged_file_is_refused(snap, tmp_path):
    data = bytearray(open(snap, "rb").read())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "bad.gz"
    bad.write_bytes(bytes(data))
    assert_refused(str(bad), CorruptSnapshot, "damaged|not JSON|checksum|shape|bad value")


def test_an_altered_row_or_a_missing_end_is_refused(snap, tmp_path):
    values = lines(snap)
    row = next(i for i, x in enumerate(values) if isinstance(x, list))
    altered = [list(x) for x in values[row:row + 1]]
    altered[0][2] = "Someone Else"
    write(tmp_path / "altered.gz", values[:row] + altered + values[row + 1:])
    assert_refused(str(tmp_path / "altered.gz"), CorruptSnapshot, "checksum")
    write(tmp_path / "nolast.gz", values[:-1])
    assert_refused(str(tmp_path / "nolast.gz"), CorruptSnapshot, "last line")
    (tmp_path / "plain.txt").write_text("hello")
    assert_refused(str(tmp_path / "plain.txt"), CorruptSnapshot, "damaged")


def test_a_snapshot_of_a_newer_schema_or_format_is_refused(snap, tmp_path):
    values = lines(snap)
    newer = dict(values[0], schema_version=values[0]["schema_version"] + 1,
                 migrations=values[0]["migrations"] + ["9999_future"])
    write(tmp_path / "newer.gz", [newer] + values[1:])
    assert_refused(str(tmp_path / "newer.gz"), SchemaOutdated,
                   r"schema version \d+, this liapstore knows only \d+")
    future = dict(values[0], liapstore_snapshot=snapshot.FORMAT + 1)
    write(tmp_path / "future.gz", [future] + values[1:])
    assert_refused(str(tmp_path / "future.gz"), SchemaOutdated, "format")
    older = dict(values[0], schema_version=values[0]["schema_version"] - 1,
                 migrations=values[0]["migrations"][:-1])
    write(tmp_path / "older.gz", [older] + values[1:])
    assert_refused(str(tmp_path / "older.gz"), InvalidInput, "then upgrade")


def test_a_non_empty_target_is_refused_without_force(snap, source):
    with liapstore.connect("memory://") as target:
        target.create_player("already_here")
        with pytest.raises(Conflict, match="not empty"):
            snapshot.restore(snap, target)
        assert copy.counts(target)["players"] == 1
        snapshot.restore(snap, target, force=True)
        assert copy.compare(source, target) == []


def test_key_tables_go_to_the_key_file_only(source, tmp_path):
    # player_keys (the per-player e-mail keys) is the key store: its rows go
    # to FILE.keys and never into the data snapshot.
    alice = source.create_player("mail_alice", email="alice@example.com")
    source.create_player("mail_bob", email="bob@example.com")
    path = str(tmp_path / "snap.gz")
    manifest = snapshot.backup(source, path)
    assert manifest["key_tables"] == ["player_keys"] and manifest["rows"]["player_keys"] == 3
    data = lines(path)
    assert not any(isinstance(x, dict) and x.get("table") == "player_keys" for x in data)
    assert "player_keys" not in data[0]["tables"]
    keys = lines(path + ".keys")
    assert keys[0]["id"] == data[0]["id"] and keys[0]["tables"] == ["player_keys"]
    assert sum(isinstance(x, list) for x in keys) == 3  # fill() made one more
    with liapstore.connect("memory://") as target:
        snapshot.restore(path, target)
        assert copy.compare(source, target) == []
        assert target.get_player(alice.id).email == "alice@example.com"
    moved = tmp_path / "elsewhere.keys"
    (tmp_path / "snap.gz.keys").rename(moved)
    assert_refused(path, InvalidInput, "key file .* is missing")
    other = str(tmp_path / "other.gz")
    snapshot.backup(source, other)
    assert_refused(path, InvalidInput, "another snapshot", key_path=other + ".keys")
    with liapstore.connect("memory://") as target:
        snapshot.restore(path, target, key_path=str(moved))
        assert copy.compare(source, target) == []
    with liapstore.connect("memory://") as target:
        # Data without its keys: the players are back, their addresses are not.
        snapshot.restore(path, target, without_keys=True)
        assert copy.counts(target)["player_keys"] == 0
        assert copy.counts(target)["players"] == copy.counts(source)["players"]
        assert target.get_player(alice.id).email is None


def test_restore_command_says_why_it_refuses(snap, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    done = runner.invoke(main, ["restore", snap, "--url", url])
    assert done.exit_code == 0, done.output
    again = runner.invoke(main, ["restore", snap, "--url", url])
    assert again.exit_code == 1 and "Conflict" in again.output and "--force" in again.output
    (tmp_path / "cut.gz").write_bytes(open(snap, "rb").read()[:200])
    cut = runner.invoke(main, ["restore", str(tmp_path / "cut.gz"), "--url", url, "--force"])
    assert cut.exit_code == 1 and "damaged or truncated" in cut.output


def test_a_restore_failing_midway_leaves_the_target_empty(snap, tmp_path, store):
    # A well-formed file (checksums recomputed) whose last game row names a
    # room that does not exist: the database refuses it after every earlier
    # table was loaded, and the one transaction takes them all back.
    from liapstore.ops.tables import Checksum
    values = lines(snap)
    start = values.index(next(x for x in values if isinstance(x, dict) and x.get("table") == "games"))
    end = values.index(next(x for x in values if isinstance(x, dict) and x.get("end") == "games"))
    values[end - 1][1] = "00000000-0000-4000-8000-000000000000"  # room_id
    total = Checksum()
    for row in values[start + 1:end]:
        total.add(row)
    values[end]["checksum"] = values[-1]["checksums"]["games"] = total.hex
    write(tmp_path / "dangling.gz", values)
    shutil.copy(snap + ".keys", tmp_path / "dangling.gz.keys")  # same snapshot id
    assert snapshot.read_manifest(str(tmp_path / "dangling.gz"))["rows"]["games"] == 2
    with pytest.raises(liapstore.NotFound):
        snapshot.restore(str(tmp_path / "dangling.gz"), store)
    assert not any(copy.counts(store).values())
    snapshot.restore(snap, store)  # the store works on, and the triggers are back
    assert copy.counts(store)["audit_log"] == snapshot.read_manifest(snap)["rows"]["audit_log"]
    store.create_player("after_restore")
    assert store.list_audit_log(limit=1000).items[-1].changed_data["username"] == "after_restore"


def test_a_snapshot_missing_a_table_is_refused(snap, tmp_path):
    # Consistent in itself (its manifest, sections and last line agree), but
    # without the seasons table this schema has.
    values = lines(snap)
    begin, end = (next(i for i, x in enumerate(values) if isinstance(x, dict) and x.get(k) == "seasons")
                  for k in ("table", "end"))
    header = dict(values[0], tables=[t for t in values[0]["tables"] if t != "seasons"])
    last = values[-1]
    last = {"complete": True, "rows": {t: n for t, n in last["rows"].items() if t != "seasons"},
            "checksums": {t: c for t, c in last["checksums"].items() if t != "seasons"}}
    write(tmp_path / "fewer.gz", [header] + values[1:begin] + values[end + 1:-1] + [last])
    assert "seasons" not in snapshot.read_manifest(str(tmp_path / "fewer.gz"))["rows"]
    assert_refused(str(tmp_path / "fewer.gz"), CorruptSnapshot, "not this schema's")


def test_an_older_snapshot_restored_with_todays_keys_hides_an_erased_address(source, tmp_path):
    # Erasure destroys the player's data key. An older data snapshot still
    # holds the ciphertext, but restored with the keys of today (a key file
    # written after the erasure) the address cannot be read back.
    alice = source.create_player("gone_alice", email="gone.alice@example.com")
    bob = source.create_player("kept_bob", email="kept.bob@example.com")
    old = str(tmp_path / "before.gz")
    snapshot.backup(source, old)
    source.erase_player(alice.id)
    new = str(tmp_path / "after.gz")
    snapshot.backup(source, new)
    assert "gone.alice" not in gzip.open(old, "rt").read()  # encrypted at rest
    with liapstore.connect("memory://") as target:
        with pytest.raises(InvalidInput, match="another snapshot"):
            snapshot.restore(old, target, key_path=new + ".keys")
    with liapstore.connect("memory://") as target:
        # The old data restored with today's key store: Bob's address reads
        # back, the erased player's cannot.
        snapshot.restore(old, target, key_path=new + ".keys", current_keys=True)
        assert target.get_player(bob.id).email == "kept.bob@example.com"
        assert target.get_player(alice.id).email is None
        assert copy.counts(target)["player_keys"] == copy.counts(source)["player_keys"]
    with liapstore.connect("memory://") as target:
        # Without any key file nothing can be decrypted.
        snapshot.restore(old, target, without_keys=True)
        assert target.get_player(bob.id).email is None
