"""Object stores for archives: a directory (``file://``) or S3 (``s3://``).

An object store keeps named byte strings; ``liapstore/archive.py`` decides
what goes in them. Two kinds, chosen by URL:

- ``file:///abs/dir`` (or ``file:rel/dir``, or a plain path): one file per
  object under the directory, written to a temporary name, flushed to disk
  and renamed, so an object is either whole or absent.
- ``s3://bucket/prefix``: through boto3 (``pip install 'liapstore[s3]'``),
  credentials from the environment or boto's own configuration, never the
  URL. The endpoint of an S3-compatible server (MinIO, moto) comes from
  ``?endpoint_url=http://host:port``, else ``$AWS_ENDPOINT_URL``; the region
  from ``?region=``, else boto's default.

Reading a missing object raises ``ArchiveMissing``; a store that cannot be
reached raises ``StorageUnavailable``. Messages never show a secret
(``urls.redact``).
"""
import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import ArchiveMissing, InvalidInput, StorageUnavailable
from .urls import redact


def open_objectstore(url):
    """The object store a URL names (see the module docstring)."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("an archive URL is a non-empty string such as file:///var/archive "
                           "or s3://bucket/prefix")
    parts = urlsplit(url)
    if parts.password or parts.username:
        raise InvalidInput(f"archive URL {redact(url)!r} holds credentials: give them through "
                           "the environment (AWS_ACCESS_KEY_ID, ...) instead")
    scheme = parts.scheme.lower()
    if scheme == "s3":
        return S3ObjectStore(url, parts)
    if scheme in ("", "file"):
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"file URL {redact(url)!r} names a host; use file:///abs/path")
        path = unquote(parts.path if scheme else url)
        if not path:
            raise InvalidInput(f"archive URL {redact(url)!r} names no directory")
        return FileObjectStore(path)
    raise InvalidInput(f"archive URL {redact(url)!r}: supported schemes are file:// and s3://")


class FileObjectStore:
    """Objects as files under one directory."""

    def __init__(self, path):
        self.root = Path(path).absolute()
        #: The canonical URL of this store, as pointer rows record it.
        self.url = self.root.as_uri()

    def put(self, key, data):
        """Write the object ``key`` (replacing any old one) and make it durable."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            raise StorageUnavailable(f"cannot write archive object {path}: {e.strerror or e}") from e

    def get(self, key):
        """The object's bytes; ArchiveMissing if there is none."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ArchiveMissing(f"archive object {path} does not exist") from None
        except OSError as e:
            raise StorageUnavailable(f"cannot read archive object {path}: {e.strerror or e}") from e

    def _path(self, key):
        if key.startswith("/") or ".." in key.split("/"):
            raise InvalidInput(f"archive object key {key!r} leaves the archive directory")
        return self.root / key


class S3ObjectStore:
    """Objects in an S3 bucket under a prefix, through boto3."""

    def __init__(self, url, parts):
        if not parts.netloc:
            raise InvalidInput(f"S3 URL {redact(url)!r} names no bucket: s3://bucket/prefix")
        query = {k: x[-1] for k, x in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint_url", "region"}
        if unknown:
            raise InvalidInput(f"unknown s3:// options {sorted(unknown)}; supported: "
                               "endpoint_url, region")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint = query.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or None
        self.url = url
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StorageUnavailable("s3:// archives need boto3: pip install 'liapstore[s3]'") \
                from None
        self._client = boto3.client("s3", endpoint_url=self.endpoint,
                                    region_name=query.get("region"),
                                    config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    def _key(self, key):
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key, data):
        """Upload the object ``key`` (replacing any old one)."""
        with self._errors(key):
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key):
        """The object's bytes; ArchiveMissing if there is none."""
        with self._errors(key):
            return self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def _errors(self, key):
        return _S3Errors(f"s3://{self.bucket}/{self._key(key)}")


class _S3Errors:
    """Turns botocore's exceptions into liapstore's errors."""

    def __init__(self, where):
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        if e is None:
            return False
        from botocore.exceptions import BotoCoreError, ClientError
        if isinstance(e, ClientError):
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ArchiveMissing(f"archive object {self.where} does not exist") from None
            raise StorageUnavailable(f"{self.where}: {code}: {redact(str(e))}") from None
        if isinstance(e, BotoCoreError):
            raise StorageUnavailable(f"{self.where}: {redact(str(e))}") from None
        return False
