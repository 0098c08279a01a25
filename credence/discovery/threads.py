"""Work mapped over threads, in order (NumPy and SciPy release the GIL in their loops)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["thread_map"]


def thread_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list:
    """``[fn(item) for item in items]``, on up to one thread a core.

    Parameters
    ----------
    fn : callable
    items : sequence

    Returns
    -------
    list
        In the order of ``items``; with one item or none, computed in this thread.
    """
    if len(items) <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))
