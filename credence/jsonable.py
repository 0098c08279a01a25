"""Values ready for strict JSON: no NaN or infinity, only plain Python numbers."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none", "json_safe"]


def finite_or_none(x: float | None) -> float | None:
    """``x`` as a plain float, or None where it is None, NaN or infinite.

    Examples
    --------
    >>> finite_or_none(0.5), finite_or_none(float("-inf")), finite_or_none(None)
    (0.5, None, None)
    """
    return float(x) if x is not None and math.isfinite(x) else None


def json_safe(value: Any) -> Any:
    """Replace non-finite floats by None, recursively through dicts, lists and tuples."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
