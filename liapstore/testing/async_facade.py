"""The conformance suite through the AsyncStore: a synchronous Store look-alike
whose every call runs as a coroutine of an AsyncStore, on an event loop in a
thread of its own.

With ``LIAPSTORE_TEST_ASYNC=1`` the plugin's ``store`` fixture hands tests
this facade instead of the Store, so the one suite exercises the async path
(coroutines, worker threads, transactions pinned to one worker) with the same
assertions, on every backend it runs on.
"""
import asyncio
import concurrent.futures
import functools
import inspect
import threading
from contextlib import contextmanager

import liapstore
from liapstore.asyncstore import PINNED_CONTEXTS


@contextmanager
def open_facade(url, **options):
    """A ``SyncFacade`` over ``connect_async(url, **options)``, closed at the end."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="liapstore-test-loop", daemon=True)
    thread.start()
    try:
        astore = asyncio.run_coroutine_threadsafe(_opened(url, options), loop).result()
        try:
            yield SyncFacade(astore, loop)
        finally:
            asyncio.run_coroutine_threadsafe(astore.close(), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _opened(url, options):
    return await liapstore.connect_async(url, **options)


class SyncFacade:
    """Looks like a Store; runs each call as the AsyncStore's coroutine on ``loop``.

    Public methods go through the AsyncStore's coroutines; the table
    primitives some contract tests call (``_update``, ``_select``) through
    ``AsyncStore.run``, so they too run on its workers, inside the caller's
    transaction when one is open. Each thread of the test has its own
    transactions, as with a Store.
    """

    def __init__(self, astore, loop):
        self.astore = astore
        self._loop = loop
        self._local = threading.local()  # .session: the task running this thread's transaction

    @property
    def wrapped(self):
        """The AsyncStore this facade runs its calls on."""
        return self.astore

    def __repr__(self):
        return f"<SyncFacade {self.astore!r}>"

    def __getattr__(self, name):
        if name in ("astore", "_loop", "_local"):
            raise AttributeError(name)
        if name == "acting_player":  # per context: read where the calls run
            return self._await(lambda: self.astore.run(getattr, self.astore.store, name))
        value = getattr(self.astore, name)
        if name in PINNED_CONTEXTS:  # those the Store has besides transaction()
            return functools.wraps(value)(lambda *a, **kw: self._pinned(value(*a, **kw)))
        if not callable(value) or inspect.isclass(value):
            return value
        if name.startswith("_"):
            def call(*args, **kwargs):
                return self._await(lambda: self.astore.run(value, *args, **kwargs))
        else:
            def call(*args, **kwargs):
                return self._await(lambda: value(*args, **kwargs))
        return functools.wraps(value)(call)

    def _await(self, make_coroutine):
        session = getattr(self._local, "session", None)
        if session is not None:
            return session.call(make_coroutine)
        return asyncio.run_coroutine_threadsafe(make_coroutine(), self._loop).result()

    def transaction(self):
        """``with store.transaction():`` as ``async with astore.transaction():``."""
        return self._pinned(self.astore.transaction())

    @contextmanager
    def _pinned(self, manager):
        """``with`` over an ``async with`` context manager of the AsyncStore,
        every call inside it made from the one task that entered it."""
        session = getattr(self._local, "session", None)
        outermost = session is None
        if outermost:
            session = self._local.session = _Session(self._loop)
        try:
            session.call(manager.__aenter__)
            try:
                yield
            except BaseException as e:
                if not session.call(lambda: manager.__aexit__(type(e), e, e.__traceback__)):
                    raise
            else:
                session.call(lambda: manager.__aexit__(None, None, None))
        finally:
            if outermost:
                self._local.session = None
                session.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Session:
    """One task on the loop that runs a thread's calls while it has a
    transaction open, so that they all see the task's transaction."""

    def __init__(self, loop):
        self._loop = loop
        self._requests = asyncio.Queue()
        self._task = asyncio.run_coroutine_threadsafe(self._serve(), loop)

    async def _serve(self):
        while True:
            make_coroutine, result = await self._requests.get()
            if make_coroutine is None:
                return
            try:
                result.set_result(await make_coroutine())
            except BaseException as e:  # noqa: BLE001 - handed to the calling thread
                result.set_exception(e)

    def call(self, make_coroutine):
        result = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._requests.put_nowait, (make_coroutine, result))
        return result.result()

    def stop(self):
        self._loop.call_soon_threadsafe(self._requests.put_nowait, (None, None))
        self._task.result()
