"""AsyncStore's own behaviour: workers, transactions pinned to one worker,
backpressure, cancellation, errors. (What each operation does is the
conformance suite's business: LIAPSTORE_TEST_ASYNC=1 runs it through here.)"""
import asyncio
import contextlib
import contextvars
import threading

import pytest

import liapstore
from liapstore.asyncstore import AsyncStore
from liapstore.testing.support import SHORT, record, script, start


def run(coroutine):
    return asyncio.run(coroutine)


def test_every_public_store_method_is_a_coroutine_with_the_stores_docstring():
    names = [n for n in dir(liapstore.Store) if not n.startswith("_")
             and callable(getattr(liapstore.Store, n))]
    for name in names:
        method = getattr(AsyncStore, name)
        if name == "transaction":
            assert not asyncio.iscoroutinefunction(method)  # an async context manager
        else:
            assert asyncio.iscoroutinefunction(method), name
        if name != "close":  # AsyncStore's own, which also stops the workers
            assert getattr(liapstore.Store, name).__doc__ in method.__doc__, name


def test_calls_and_errors_are_the_stores(store_url):
    async def main():
        async with liapstore.connect_async(store_url) as astore:
            assert astore.backend == liapstore.connect(store_url).backend
            player = await astore.create_player("alice")
            assert (await astore.get_player(player.id)).username == "alice"
            with pytest.raises(liapstore.Conflict):
                await astore.create_player("alice")
            with pytest.raises(liapstore.NotFound):
                await astore.get_player_by_username("nobody")
            with pytest.raises(liapstore.InvalidInput):
                await astore.create_player("no spaces allowed")
            # After errors the same store keeps working.
            assert (await astore.get_or_create_player("bob")).username == "bob"
            return astore
    astore = run(main())
    with pytest.raises(liapstore.StorageUnavailable, match="closed"):
        run(astore.get_player_by_username("alice"))


def test_connect_async_takes_connects_options(tmp_path):
    with pytest.raises(liapstore.InvalidInput, match="unknown sqlite:// options"):
        run(_open(f"sqlite:///{tmp_path / 'x.db'}", bogus=1))
    with pytest.raises(liapstore.InvalidInput, match="max_workers"):
        run(_open(f"sqlite:///{tmp_path / 'x.db'}", max_workers=-1))

    async def unmigrated():
        astore = await liapstore.connect_async(f"sqlite:///{tmp_path / 'y.db'}", migrate=False)
        try:
            return await astore.schema_version()
        finally:
            await astore.close()
    applied, latest = run(unmigrated())
    assert applied == 0 < latest


async def _open(url, **options):
    astore = await liapstore.connect_async(url, **options)
    await astore.close()


def test_a_transaction_runs_on_one_worker_and_commits_or_rolls_back(store_url):
    async def main():
        async with liapstore.connect_async(store_url, max_workers=4) as astore:
            async with astore.transaction():
                threads = {await astore.run(threading.get_ident) for _ in range(5)}
                await astore.create_player("kept")
                async with astore.transaction():  # a savepoint, on the same worker
                    threads.add(await astore.run(threading.get_ident))
            assert len(threads) == 1
            with pytest.raises(liapstore.Conflict):
                async with astore.transaction():
                    await astore.create_player("dropped")
                    await astore.create_player("kept")  # Conflict: the block rolls back
            assert (await astore.get_player_by_username("kept")).username == "kept"
            with pytest.raises(liapstore.NotFound):
                await astore.get_player_by_username("dropped")
            assert astore.busy == 0
    run(main())


def test_after_commit_callbacks_wait_for_the_outermost_commit(store_url):
    async def main():
        async with liapstore.connect_async(store_url) as astore:
            ran = []
            async with astore.transaction():
                async with astore.transaction():
                    await astore.run(astore.store._after_commit, lambda: ran.append("inner"))
                await astore.run(astore.store._after_commit, lambda: ran.append("outer"))
                assert ran == []
            assert ran == ["inner", "outer"]
            with pytest.raises(RuntimeError):
                async with astore.transaction():
                    await astore.run(astore.store._after_commit, lambda: ran.append("rolled back"))
                    raise RuntimeError("the block fails")
            assert ran == ["inner", "outer"]
    run(main())


def test_concurrent_coroutines_have_transactions_of_their_own(store_url):
    async def one(astore, i):
        async with astore.transaction():
            await astore.create_player(f"user_{i:02d}")
            await asyncio.sleep(0.001)  # let the other coroutines run meanwhile
            if i % 2:
                raise ValueError(i)

    async def main():
        async with liapstore.connect_async(store_url, max_workers=4) as astore:
            results = await asyncio.gather(*(one(astore, i) for i in range(12)),
                                           return_exceptions=True)
            assert [isinstance(r, ValueError) for r in results] == [bool(i % 2) for i in range(12)]
            names = [p.username for p in await astore.list_players()]
            assert names == [f"user_{i:02d}" for i in range(0, 12, 2)]
            assert astore.busy == 0
    run(main())


def test_a_game_recorded_by_concurrent_coroutines_on_separate_tables(store_url):
    """Four games at once, each action a coroutine of its own game's task."""
    async def play(astore, seed):
        table = await astore.run(start, astore.store, code=f"R{seed}", **SHORT)
        steps = script(seed, **SHORT).steps
        for step, _, action, _ in steps:
            game = await astore.record_action(table.game.id, step, action)
        return game, len(steps)

    async def main():
        async with liapstore.connect_async(store_url, max_workers=3) as astore:
            for game, n in await asyncio.gather(*(play(astore, seed) for seed in range(4))):
                assert game.finished and game.version == n
                assert len(await astore.list_actions(game.id)) == n
                assert await astore.verify_game(game.id) == []
    run(main())


def test_workers_are_bounded_and_callers_wait_for_one():
    running, peak, lock = [0], [0], threading.Lock()
    gate = threading.Event()

    def blocking():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait(5)
        with lock:
            running[0] -= 1

    async def main():
        before = threading.active_count()
        astore = AsyncStore(liapstore.connect("memory://"), max_workers=3)
        assert threading.active_count() - before == 3  # started up front, off the loop
        calls = [asyncio.ensure_future(astore.run(blocking)) for _ in range(20)]
        await asyncio.sleep(0.05)
        assert (astore.busy, astore.waiting) == (3, 17)
        assert threading.active_count() - before == 3
        gate.set()
        await asyncio.gather(*calls)
        assert peak[0] == 3 and (astore.busy, astore.waiting) == (0, 0)
        await astore.close()
    run(main())


def test_a_caller_cancelled_while_waiting_never_runs_its_call():
    gate, ran = threading.Event(), []

    async def main():
        astore = AsyncStore(liapstore.connect("memory://"), max_workers=1)
        busy = asyncio.ensure_future(astore.run(gate.wait, 5))
        waiting = asyncio.ensure_future(astore.run(ran.append, "ran"))
        await asyncio.sleep(0.02)
        waiting.cancel()
        gate.set()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await astore.run(lambda: None)
        assert ran == [] and astore.busy == 0
        await astore.close()
    run(main())


def test_a_task_cancelled_inside_a_transaction_rolls_it_back_and_frees_its_worker(store_url):
    async def main():
        async with liapstore.connect_async(store_url, max_workers=2) as astore:
            inside = asyncio.Event()

            async def writer():
                async with astore.transaction():
                    await astore.create_player("cancelled")
                    inside.set()
                    await asyncio.sleep(10)

            task = asyncio.ensure_future(writer())
            await inside.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(liapstore.NotFound):
                await astore.get_player_by_username("cancelled")
            await asyncio.sleep(0.01)  # the worker's release reaches the loop
            assert astore.busy == 0
            # Both workers are free: two transactions can be open at once.
            async with astore.transaction():
                await astore.create_player("after")
    run(main())


def test_tasks_started_inside_a_transaction_take_part_in_it(store_url):
    async def main():
        async with liapstore.connect_async(store_url) as astore:
            with pytest.raises(RuntimeError):
                async with astore.transaction():
                    await asyncio.gather(*(astore.create_player(f"child_{i}") for i in range(3)))
                    raise RuntimeError("roll all three back")
            assert len(await astore.list_players()) == 0
    run(main())


def test_a_backends_own_public_methods_are_coroutines_too():
    class Extra(type(liapstore.connect("memory://"))):
        def shout(self, word):
            """A method only this backend has."""
            return word.upper()

    async def main():
        astore = AsyncStore(Extra("memory://"))
        assert await astore.shout("hi") == "HI"
        assert astore.shout.__doc__ == "A method only this backend has."
        await astore.close()
    run(main())


def test_callers_waiting_when_the_store_closes_get_storage_unavailable():
    gate = threading.Event()

    async def main():
        astore = AsyncStore(liapstore.connect("memory://"), max_workers=1)
        busy = asyncio.ensure_future(astore.run(gate.wait, 5))
        waiting = asyncio.ensure_future(astore.get_player_by_username("alice"))
        await asyncio.sleep(0.02)
        closing = asyncio.ensure_future(astore.close())
        await asyncio.sleep(0.02)
        gate.set()
        await busy
        await closing
        with pytest.raises(liapstore.StorageUnavailable, match="closed"):
            await waiting
        with pytest.raises(liapstore.StorageUnavailable, match="closed"):
            async with astore.transaction():
                pass
    run(main())


class _Acting(type(liapstore.connect("memory://"))):
    """A store with an identity per thread or task, kept in a ContextVar, as
    ``acting_as`` keeps the player a request acts for."""

    def __init__(self, url):
        super().__init__(url)
        self._actor = contextvars.ContextVar(f"actor_{id(self)}", default=None)

    @contextlib.contextmanager
    def acting_as(self, who):
        token = self._actor.set(who)
        try:
            yield
        finally:
            self._actor.reset(token)

    def whoami(self):
        return self._actor.get()


def test_an_identity_set_by_a_pinned_block_is_seen_by_its_calls_and_no_one_elses():
    async def as_(astore, who, seen):
        async with astore.acting_as(who):
            for _ in range(3):
                seen.append((who, await astore.whoami()))
                await asyncio.sleep(0.001)
            async with astore.transaction():  # nested: the same worker, the same identity
                seen.append((who, await astore.whoami()))

    async def main():
        astore = AsyncStore(_Acting("memory://"), max_workers=4)
        seen = []
        await asyncio.gather(*(as_(astore, f"player{i}", seen) for i in range(4)),
                             *(astore.whoami() for _ in range(4)))
        assert len(seen) == 16 and all(who == got for who, got in seen)
        assert await astore.whoami() is None
        await astore.close()
    run(main())
