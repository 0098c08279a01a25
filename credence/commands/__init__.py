"""Subcommands of the ``credence`` command line, one module per group."""

from __future__ import annotations

import argparse

__all__ = ["fraction_argument", "whole_number_argument"]


def whole_number_argument(low: int, high: int):
    """An argparse type: a decimal whole number from ``low`` to ``high``."""

    def whole_number(text: str) -> int:
        if not text.lstrip("-").isdigit() or len(text) > 24:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:30]!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {value:,}")
        return value

    return whole_number


def fraction_argument(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:30]!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text[:30]}")
    return value
