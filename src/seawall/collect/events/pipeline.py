"""An iterator run a few items ahead in a thread of its own, for readers whose work releases
the GIL (Rust parsers, DuckDB): the consumer's work on one item overlaps the producer's on the
next, and at most ``depth`` items wait in between (memory stays bounded)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_background(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced in a background thread; its exception is raised here, in order. If
    the consumer stops early, the producer stops at its next item and ``items`` is closed."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failed(error))
            return
        put(_END)

    worker = threading.Thread(target=produce, name="seawall-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:  # a generator stopped early runs its cleanup now, not at GC
            close()
