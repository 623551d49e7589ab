"""Group commit: concurrent callers share one write transaction instead of queueing for it.

With one writer (SQLite), every transaction waits for the one before and pays its own commit
(an fsync with synchronous=FULL). Here the first caller to find the writer free becomes the
leader: it runs everything queued so far as one batch and answers each caller with its own
result; callers that arrived meanwhile wait for the next batch. Nobody returns before the
transaction holding its item has committed.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    """One caller's item and, once its batch has run, its outcome."""

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.outcome: R | BaseException | None = None

    def result(self) -> R:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]


class GroupCommit(Generic[T, R]):
    """Run `run_batch` over the items of concurrent `submit` calls, a batch at a time."""

    def __init__(
        self, run_batch: Callable[[list[T]], list[R | BaseException]], max_batch: int = 64
    ) -> None:
        """`run_batch` returns one outcome per item: its result, or what only it raised."""
        self.run_batch = run_batch
        self.max_batch = max(1, max_batch)
        self.batches = 0  # how many batches ran (tests and figures read it)
        self._queued: list[_Slot[T, R]] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()  # one batch at a time

    def submit(self, item: T) -> R:
        """Return `item`'s result once the batch that ran it has committed."""
        slot: _Slot[T, R] = _Slot(item)
        with self._queue_lock:
            self._queued.append(slot)
        while not slot.done:
            with self._writer:
                if slot.done:  # a leader took it while we waited for the writer
                    break
                with self._queue_lock:
                    batch = self._queued[: self.max_batch]
                    del self._queued[: self.max_batch]
                self._run(batch)
        return slot.result()

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        try:
            outcomes = self.run_batch([s.item for s in batch])
        except BaseException as exc:  # the commit failed: nothing of the batch is stored
            outcomes = [exc] * len(batch)
        self.batches += 1
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.outcome, slot.done = outcome, True


class _LoopQueue(Generic[T, R]):
    """What one event loop has queued, and whether its drain task runs."""

    def __init__(self) -> None:
        self.queued: list[tuple[T, asyncio.Future[R]]] = []
        self.task: asyncio.Task[None] | None = None


class AsyncGroupCommit(Generic[T, R]):
    """Group commit for async callers: one batch at a time runs in a thread; callers await.

    Only the batch hops to a thread, not every caller. Each event loop (a test client may
    run several) drains its own queue.
    """

    def __init__(
        self, run_batch: Callable[[list[T]], list[R | BaseException]], max_batch: int = 64
    ) -> None:
        """`run_batch` returns one outcome per item: its result, or what only it raised."""
        self.run_batch = run_batch
        self.max_batch = max(1, max_batch)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue[T, R]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: T) -> R:
        """Return `item`'s result once the batch that ran it has committed."""
        loop = asyncio.get_running_loop()
        state = self._loops.setdefault(loop, _LoopQueue())
        future: asyncio.Future[R] = loop.create_future()
        state.queued.append((item, future))
        if state.task is None:
            state.task = loop.create_task(self._drain(state))
        return await future

    async def _drain(self, state: _LoopQueue[T, R]) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while state.queued:
                batch = state.queued[: self.max_batch]
                del state.queued[: self.max_batch]
                try:
                    outcomes = await asyncio.to_thread(self.run_batch, [i for i, _ in batch])
                except Exception as exc:  # the commit failed: nothing of the batch is stored
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    _settle(future, outcome)
                batch = []
        finally:
            state.task = None
            for _, future in batch + state.queued:  # cancelled (shutdown): do not leave waiters
                _settle(future, RuntimeError("intake stopped before this was stored"))
            state.queued.clear()


def _settle(future: asyncio.Future[R], outcome: R | BaseException) -> None:
    if future.done():  # its caller gave up waiting
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
