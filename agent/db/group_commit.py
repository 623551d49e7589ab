"""Group commit: concurrent callers share one write transaction instead of queueing for it.

With one writer (SQLite), every transaction waits for the one before and pays its own commit
(an fsync with synchronous=FULL). Here the first caller to find the writer free becomes the
leader: it runs everything queued so far as one batch and answers each caller with its own
result; callers that arrived meanwhile wait for the next batch. Nobody returns before the
transaction holding its item has committed.
"""

from __future__ import annotations

import threading
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
