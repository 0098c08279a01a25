"""Options of public functions and estimators: unknown or misspelt ones are refused.

Python's own message for an unexpected keyword does not say what was meant; these
name the valid options and the closest one.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from credence.errors import shown

__all__ = [
    "MAX_BINS",
    "MAX_DRAWS",
    "MAX_ITER",
    "MAX_SEED",
    "strict_options",
    "unknown_options",
    "whole_number",
]

#: The most bins of a reliability diagram or calibration error.
MAX_BINS = 1000
#: The most robustness draws of the exact engine, or posterior draws per chain.
MAX_DRAWS = 1_000_000
#: The largest seed (numpy's generators take any non-negative integer; 64 bits is plenty).
MAX_SEED = 2**63 - 1
#: The most iterations of a truth-discovery fit.
MAX_ITER = 1_000_000


def unknown_options(owner: str, given: Iterable[str], valid: Sequence[str]) -> TypeError | None:
    """A TypeError naming the unknown options in ``given`` and the valid ones, or None."""
    unknown = [k for k in given if k not in valid]
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(shown(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
    return TypeError(
        f"{owner} got unknown option{'s' * (len(unknown) > 1)} {', '.join(parts)}; "
        f"valid options: {', '.join(valid)}"
    )


def strict_options[F: Callable[..., Any]](func: F) -> F:
    """Make unknown keyword arguments a TypeError that names the valid ones."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    valid = [n for n, p in inspect.signature(func).parameters.items() if p.kind in kinds]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        error = unknown_options(f"{func.__name__}()", kwargs, valid)
        if error is not None:
            raise error
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def whole_number(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int, if it is a whole number from ``low`` to ``high``.

    Raises
    ------
    TypeError
        Not an integer (a bool, a float or text is refused, not converted).
    ValueError
        Out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low:,} to {high:,}, not {int(value):,}")
    return int(value)
