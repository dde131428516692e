"""Archiving to S3, against moto's standalone S3 server: a separate process
speaking the S3 protocol over HTTP on a loopback port of its own, reached
through boto3 exactly as AWS or MinIO would be."""
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from liapstore.errors import ArchiveCorrupt, ArchiveMissing, StorageUnavailable
from liapstore.testing.support import MEDIUM, expect, play_recorded, rows
from support.servers import free_port


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                 "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def bucket(s3_endpoint, monkeypatch, request):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    name = f"liap-{abs(hash(request.node.nodeid)) % 10**10}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=name)
    return client, name


def test_games_archived_to_s3_replay_and_restore(store, s3_endpoint, bucket):
    client, name = bucket
    _, _, game = play_recorded(store, 7, settings=MEDIUM)
    before = (store.list_actions(game.id), store.list_turns(game.id))
    counts = rows(store)
    url = f"s3://{name}/liap/archive?endpoint_url={s3_endpoint}"
    done = store.archive(url, older_than=timedelta(0))
    assert done["games"] == 1 and rows(store)["player_actions"] < counts["player_actions"]
    pointer = store.archived_game(game.id)
    key = f"liap/archive/{pointer['object_key']}"
    assert client.head_object(Bucket=name, Key=key)["ContentLength"] == pointer["stored_bytes"]
    assert (store.list_actions(game.id), store.list_turns(game.id)) == before
    assert store.verify_game(game.id) == []

    good = client.get_object(Bucket=name, Key=key)["Body"].read()
    client.put_object(Bucket=name, Key=key, Body=good[:-10] + b"0" * 10)
    store._archive_cache()[0].clear()   # another process would not have it decoded
    expect(ArchiveCorrupt, store.verify_game, game.id)
    client.delete_object(Bucket=name, Key=key)
    expect(ArchiveMissing, store.list_actions, game.id)
    client.put_object(Bucket=name, Key=key, Body=good)
    assert store.restore_archived()["games"] == 1
    assert rows(store) == counts and (store.list_actions(game.id), store.list_turns(game.id)) == before


def test_endpoint_from_the_environment_and_an_unreachable_one(store, s3_endpoint, bucket, monkeypatch):
    _, name = bucket
    _, _, game = play_recorded(store, 8, settings=MEDIUM)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    assert store.archive(f"s3://{name}", older_than=timedelta(0))["games"] == 1
    assert store.verify_game(game.id) == []
    store.record_event("visit", timestamp=datetime(2025, 1, 1, tzinfo=timezone.utc))
    before = rows(store)
    dead = f"http://127.0.0.1:{free_port()}"
    e = expect(StorageUnavailable, store.archive, f"s3://{name}/x?endpoint_url={dead}",
               older_than=timedelta(0), games=False)
    assert name in str(e)
    assert rows(store) == before   # nothing deleted when the upload fails
