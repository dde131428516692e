"""How late an event loop runs: a ticker coroutine, and what part of its
lateness the machine, not the process, is to blame for.

The ticker asks to wake every millisecond and notes, each time, how late it
woke. On a machine whose cores are shared with other busy processes, much of
that lateness is the scheduler keeping this process's threads off the CPU: the
loop thread itself, or the thread holding the GIL the loop waits for. Linux
says how long each thread waited to run (the second figure of
``/proc/self/task/<tid>/schedstat``, nanoseconds spent runnable but not
running), so each tick also gets an *own* lateness: its lateness less the
longest such wait of the loop thread and of any other thread of the process
during the tick. What remains is what the process did: work on the loop,
a worker holding the GIL while it runs, a garbage collection. Where Linux
does not say (another OS), own lateness is the whole lateness.
"""
import asyncio
import os
import threading

TICK = 0.001


class _Waits:
    """Each thread's time spent waiting for a CPU, read from /proc."""

    def __init__(self):
        self._files = {}
        self.available = os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat")

    def read(self):
        if not self.available:
            return {}
        out = {}
        for tid in os.listdir("/proc/self/task"):
            fd = self._files.get(tid)
            try:
                if fd is None:
                    fd = self._files[tid] = os.open(f"/proc/self/task/{tid}/schedstat",
                                                    os.O_RDONLY)
                out[tid] = int(os.pread(fd, 100, 0).split()[1]) / 1e9
            except (OSError, IndexError, ValueError):  # the thread ended meanwhile
                self._files.pop(tid, None)
        return out

    def close(self):
        for fd in self._files.values():
            os.close(fd)


class Ticker:
    """``async with Ticker() as t:`` ... ``t.worst`` and ``t.worst_own`` (seconds)."""

    def __init__(self):
        self.worst = self.worst_own = 0.0
        self.ticks = 0

    async def _run(self):
        loop = asyncio.get_running_loop()
        waits = _Waits()
        try:
            while not self._stop.is_set():
                before = waits.read()
                due = loop.time() + TICK
                await asyncio.sleep(TICK)
                late = loop.time() - due
                after = waits.read()
                kept_off = max([after[t] - before[t] for t in after if t in before] or [0.0])
                self.worst = max(self.worst, late)
                self.worst_own = max(self.worst_own, late - min(late, kept_off))
                self.ticks += 1
        finally:
            waits.close()

    async def __aenter__(self):
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())
        await asyncio.sleep(TICK)  # ticking before the block starts
        return self

    async def __aexit__(self, *exc):
        self._stop.set()
        await self._task
