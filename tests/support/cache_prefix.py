"""A private key prefix in a shared Redis, for one test: every test that
uses the machine's Redis works under its own prefix and removes its keys
afterwards (never FLUSHDB: other runs share the server)."""
import contextlib
import uuid


@contextlib.contextmanager
def private_prefix(redis_url, tag="t"):
    """Yield ``(cache_url, prefix, client)``; unlink the prefix's keys at the end."""
    import redis
    prefix = f"{tag}-{uuid.uuid4().hex[:10]}:"
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    sep = "&" if "?" in redis_url else "?"
    try:
        yield f"{redis_url}{sep}prefix={prefix}", prefix, client
    finally:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.unlink(key)
        client.close()
