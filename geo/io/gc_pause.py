"""Pausing Python's cyclic garbage collector while an import builds and checks hundreds of thousands of objects."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested or concurrent blocks share one pause); restore it after.

    Each import makes a few objects per row (shapely points, strings, lists), and every 700 new container
    objects start a collection that walks the young ones, while the full collections walk all of them: the
    collector took about half of the read and check time of a 500,000-row file. Almost none of these objects
    form reference cycles (reference counting frees them), and any that do are collected once the pause ends.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
