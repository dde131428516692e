"""AsyncStore: the Store's interface as coroutines, for asyncio servers (FastAPI).

    astore = await liapstore.connect_async("postgresql://...")
    async with astore.transaction():
        game = await astore.record_action(game_id, ...)

An AsyncStore delegates, in the manner of dogpile.cache's ProxyBackend: each
public method of the Store it wraps becomes a coroutine that runs the very same
method, so validation, errors, the cache and every backend's behaviour are
those of the Store, with nothing reimplemented.

Why a bounded thread pool and not peewee's ``playhouse.pwasyncio``
-----------------------------------------------------------------
pwasyncio runs peewee's synchronous code in a greenlet and suspends it at each
query on an asyncio driver (aiosqlite, asyncpg). To use it the store would have
to run on pwasyncio's own Database classes and drivers, and it does not fit:

- PostgreSQL: the store speaks psycopg 3 through its own pool
  (backends/pgpool.py: BEGIN and SAVEPOINT travel in psycopg's pipeline mode,
  one CTE statement per recorded action with ``%s::type`` parameters) and
  classifies errors by psycopg's exception classes and SQLSTATEs
  (driver_errors.py). asyncpg has other exception classes, other placeholders,
  no pipeline; moving to it is a second PostgreSQL backend, the reimplementation
  this wrapper exists to avoid, and one the conformance suite would have to
  prove again.
- SQLite: aiosqlite runs each connection on a thread of its own anyway, so it
  would add a greenlet hop to the thread hop this module already makes.
- memory:// and third-party backends are plain Python with no driver to await.
- The greenlet bridge yields to the loop only where the database driver
  awaits; any other blocking call inside the store (the Redis cache's
  redis-py round trips) would still hold the loop. A worker thread holds
  only itself.

So every call runs the synchronous Store in a worker thread, as
``asyncio.to_thread`` would, but on a pool of ``max_workers`` threads owned by
this AsyncStore (by default the PostgreSQL pool's size, so that no worker ever
waits for a connection; all started when it opens, off the loop). Callers beyond that wait on an asyncio semaphore:
backpressure in the event loop, never more threads, and a caller cancelled
while it waits never runs its call.

Transactions
------------
A Store's transaction belongs to a thread (the connection and the callbacks
waiting for the commit are per thread). ``async with astore.transaction():``
therefore takes one worker for the whole block and runs every call made inside
it (by this task, and by tasks it starts inside the block, one at a time) on
that worker; the commit, the rollback and the after-commit callbacks run there
too. Other coroutines' calls go to other workers: concurrent coroutines never
share a transaction. Any Store method that is a context manager with
per-thread state is wrapped the same way: list it in ``PINNED_CONTEXTS``.
"""
import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import os
import queue
import threading

from . import metrics
from .errors import InvalidInput, StorageUnavailable
from .store import Store
from .urls import redact

#: Store methods that are context managers holding per-thread (or per-context)
#: state: their ``async with`` form runs the block's calls on one worker thread,
#: in one context. A name the Store does not have is ignored.
PINNED_CONTEXTS = ("transaction", "acting_as")

#: Public Store methods that are not plain operations (handled by hand below).
_NOT_OPERATIONS = ("close",) + PINNED_CONTEXTS

# The worker thread ("lane") each AsyncStore's open pinned context runs on, for
# the current task: {AsyncStore: _Lane}. A ContextVar, so tasks started inside
# the block inherit it and tasks outside never see it.
_PINNED = contextvars.ContextVar("liapstore_pinned_lanes", default={})


def _default_workers(store):
    """Worker threads for ``store``: as many as it has connections when it
    pools them (more would only wait for one), else a few."""
    limit = getattr(store, "_connection_limit", lambda: None)()
    return limit or min(32, (os.cpu_count() or 1) + 4)


class AsyncStore:
    """A Store's methods as coroutines (see the module docstring).

    Make one with ``await liapstore.connect_async(url, ...)`` or wrap an open
    Store: ``AsyncStore(store, max_workers=8)``. Every public method of the
    Store is a coroutine taking the same arguments and raising the same
    errors; attributes (``backend``, ``durable``, ``url``) are the Store's.
    Use it from one event loop; ``await close()`` (or ``async with``) at the end.
    """

    def __init__(self, store, *, max_workers=None):
        self.store = store
        self.max_workers = int(max_workers or _default_workers(store))
        if self.max_workers < 1:
            raise InvalidInput(f"max_workers must be at least 1, not {max_workers!r}")
        self._executor = concurrent.futures.ThreadPoolExecutor(
            self.max_workers, thread_name_prefix="liapstore-async")
        self._start_workers()
        self._slots = None  # asyncio.Semaphore(max_workers), made in the loop
        self.closed = False
        self.busy = 0       # workers running a call or holding a transaction
        self.waiting = 0    # callers waiting for a worker
        metrics.opened_async(self)

    def _start_workers(self):
        # ThreadPoolExecutor starts a thread inside submit(), in the caller's
        # thread, and waits there until the new thread runs: on the event
        # loop, that wait is a stall (over 200 ms on a loaded machine). So all
        # of them start now, here (connect_async calls this off the loop):
        # each first task waits until every worker holds one.
        ready = threading.Barrier(self.max_workers + 1)
        for _ in range(self.max_workers):
            self._executor.submit(ready.wait, 60)
        ready.wait(60)

    @property
    def wrapped(self):
        """The Store whose methods this async store runs."""
        return self.store

    def __repr__(self):
        return f"<AsyncStore {self.store!r} max_workers={self.max_workers}>"

    def __getattr__(self, name):
        # Attributes the class does not define: the Store's. A public method
        # that only this Store's class has (a backend's or the cache's own)
        # becomes a coroutine like the others.
        if name == "store":  # not set yet: __init__ failed
            raise AttributeError(name)
        value = getattr(self.store, name)
        if name in PINNED_CONTEXTS:  # one this Store's class adds
            return lambda *args, **kwargs: _PinnedContext(self, name, args, kwargs)
        if name.startswith("_") or not callable(value) or inspect.isclass(value):
            return value

        @functools.wraps(value)
        async def operation(*args, **kwargs):
            return await self.run(value, *args, **kwargs)
        return operation

    # -- running calls ---------------------------------------------------------------

    async def run(self, fn, *args, **kwargs):
        """Run the synchronous ``fn(*args, **kwargs)`` as this store's calls
        run: on a worker thread, inside the current task's transaction if it
        has one. For code that calls several Store methods in a row (pass the
        Store, ``astore.store``, to it) and for helpers such as
        ``liapstore.metrics.health``."""
        lane = _PINNED.get().get(self)
        if lane is not None:
            return await asyncio.wrap_future(lane.submit(functools.partial(fn, *args, **kwargs)))
        await self._acquire()
        # In a copy of the caller's context, as asyncio.to_thread does.
        future = self._submit(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def _closed_error(self):
        return StorageUnavailable(f"{redact(self.store.url)}: the store is closed")

    async def _acquire(self):
        if self.closed:
            raise self._closed_error()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_workers)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.busy += 1

    def _release(self):
        self.busy -= 1
        self._slots.release()

    def _submit(self, fn, *args, **kwargs):
        """Run ``fn`` on a worker, its slot (already acquired) released when it ends."""
        loop = asyncio.get_running_loop()

        def release():
            try:
                loop.call_soon_threadsafe(self._release)
            except RuntimeError:  # the loop is closed: nobody is left to wait
                pass

        def work():
            # Released from the worker before its result is set, so a caller
            # resuming with the result finds the worker counted free. A call
            # whose caller was cancelled runs to its end all the same, and
            # frees its worker only then.
            try:
                return fn(*args, **kwargs)
            finally:
                release()
        if self.closed:  # closed while the caller waited for a worker
            self._release()
            raise self._closed_error()
        try:
            future = self._executor.submit(work)
        except BaseException:
            self._release()
            raise
        # Cancelled before a worker took it up: work() never runs.
        future.add_done_callback(lambda f: f.cancelled() and release())
        return future

    async def _open_lane(self):
        """Take a worker for a pinned context: it runs only that block's calls."""
        await self._acquire()
        lane = _Lane(contextvars.copy_context())
        lane.finished = self._submit(lane.serve)
        return lane

    # -- life cycle -----------------------------------------------------------------------

    async def close(self):
        """Close the Store (its connections and files) and stop the workers,
        once the calls and transactions already running are over. Callers
        still waiting for a worker, and any call afterwards, get
        StorageUnavailable; closing again does nothing."""
        if self.closed:
            return
        self.closed = True
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_workers)
        for _ in range(self.max_workers):  # after the callers already waiting
            await self._slots.acquire()
        try:
            await asyncio.to_thread(self.store.close)
        finally:
            # The workers end now; their SQLite connections close with them.
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class _Lane:
    """One worker thread running one pinned block's calls, in order, all in one
    context (a copy of the opening task's), so that what a call sets in a
    ContextVar (``acting_as``'s identity) is seen by the calls after it."""

    def __init__(self, context):
        self._calls = queue.SimpleQueue()
        self._context = context
        self.finished = None  # the future of serve(), once it runs on a worker

    def submit(self, call):
        future = concurrent.futures.Future()
        self._calls.put((call, future))
        return future

    def stop(self):
        self._calls.put(None)

    def serve(self):
        while True:
            item = self._calls.get()
            if item is None:
                return
            call, future = item
            if not future.set_running_or_notify_cancel():
                continue  # its caller was cancelled before it started
            try:
                future.set_result(self._context.run(call))
            except BaseException as e:  # noqa: BLE001 - handed to the caller as is
                future.set_exception(e)


class _PinnedContext:
    """``async with astore.<name>(...)``: the Store's context manager, entered,
    run and left on one worker thread (see the module docstring)."""

    def __init__(self, astore, name, args, kwargs):
        self._astore, self._name, self._args, self._kwargs = astore, name, args, kwargs
        self._own_lane = False

    async def __aenter__(self):
        astore = self._astore
        lanes = _PINNED.get()
        lane = lanes.get(astore)
        if lane is None:  # outermost: take a worker; inner blocks share it
            lane = await astore._open_lane()
            self._own_lane = True
        self._lane = lane
        factory = functools.partial(getattr(astore.store, self._name), *self._args, **self._kwargs)

        def enter():
            manager = factory()
            return manager, manager.__enter__()
        entered = lane.submit(enter)
        try:
            # Shielded: once queued, the block is entered; if this task is
            # cancelled meanwhile, what was entered is left again right after.
            self._manager, value = await asyncio.shield(asyncio.wrap_future(entered))
        except BaseException as e:
            lane.submit(functools.partial(_leave_if_entered, entered, e))
            if self._own_lane:
                lane.stop()
            raise
        self._token = _PINNED.set({**lanes, astore: lane})
        return value

    async def __aexit__(self, *exc):
        _PINNED.reset(self._token)
        try:
            # Shielded: the commit or rollback must run even if this task is
            # cancelled meanwhile, or the worker would keep the transaction open.
            return await asyncio.shield(asyncio.wrap_future(
                self._lane.submit(functools.partial(self._manager.__exit__, *exc))))
        finally:
            if self._own_lane:
                self._lane.stop()
                # The worker is free (and counted so) when the block is left.
                await asyncio.shield(asyncio.wrap_future(self._lane.finished))


class opening:
    """What ``connect_async`` returns: await it for the AsyncStore, or use it
    with ``async with`` to have the store closed at the end of the block."""

    def __init__(self, make):
        self._make = make
        self._astore = None

    def __await__(self):
        # The Store is opened (and migrated) off the loop, on a thread of its own.
        return asyncio.to_thread(self._make).__await__()

    async def __aenter__(self):
        self._astore = await self
        return self._astore

    async def __aexit__(self, *exc):
        await self._astore.close()


def _leave_if_entered(entered, error):
    """Leave the context manager ``entered`` (the future of its entering)
    opened, if it did, as the block failed with ``error``."""
    if entered.cancelled() or entered.exception() is not None:
        return
    manager, _ = entered.result()
    try:
        manager.__exit__(type(error), error, error.__traceback__)
    except BaseException:  # noqa: BLE001 - the caller already has its error
        pass


def _operation(name):
    method = getattr(Store, name)

    @functools.wraps(method)
    async def operation(self, *args, **kwargs):
        return await self.run(getattr(self.store, name), *args, **kwargs)
    return operation


def _pinned(name):
    method = getattr(Store, name)

    @functools.wraps(method)
    def pinned(self, *args, **kwargs):
        return _PinnedContext(self, name, args, kwargs)
    pinned.__doc__ = f"``async with`` form of Store.{name} (runs on one worker):\n\n{method.__doc__}"
    return pinned


for _name in dir(Store):
    if _name.startswith("_") or not inspect.isfunction(inspect.getattr_static(Store, _name)):
        continue
    if _name in PINNED_CONTEXTS:
        setattr(AsyncStore, _name, _pinned(_name))
    elif _name not in _NOT_OPERATIONS:
        setattr(AsyncStore, _name, _operation(_name))
del _name

__all__ = ["AsyncStore", "PINNED_CONTEXTS"]
