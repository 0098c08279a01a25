"""The one error type a user sees for bad input: what, where, why.

A :class:`CaseError` carries one or more :class:`Problem` s, each with its place
in the input (``evidence[3] (id nis-oct18).derived_from``) and, when it came
from a file, the line and column. It prints one line per problem, compiler
style: ``FILE:LINE:COL: place: what is wrong``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

__all__ = [
    "MAX_SHOWN_PROBLEMS",
    "CaseError",
    "Problem",
    "format_location",
    "parse_location",
    "printable",
    "shown",
]

#: Problems printed before "... and N more".
MAX_SHOWN_PROBLEMS = 20


def format_location(loc: Sequence[str | int]) -> str:
    """Render a location path as it reads in a case file.

    Parameters
    ----------
    loc : sequence of str or int
        Keys and list indices from the document root.

    Returns
    -------
    str
        For example ``evidence[3].derived_from``.

    Examples
    --------
    >>> format_location(("evidence", 3, "derived_from"))
    'evidence[3].derived_from'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = printable(str(part) if len(str(part)) <= 40 else str(part)[:40] + "…")
            out += f".{text}" if out else text
    return out


_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_location(location: str) -> tuple[str | int, ...]:
    """The keys and indices of a location written as :func:`format_location` writes it.

    An item's id in parentheses, ``evidence[3] (id x)``, is dropped.

    Examples
    --------
    >>> parse_location("evidence[3] (id x).derived_from[0]")
    ('evidence', 3, 'derived_from', 0)
    """
    location = re.sub(r" \(id [^)]*\)", "", location)
    return tuple(int(index) if index else key for index, key in _PART.findall(location))


def shown(value: object, limit: int = 60) -> str:
    r"""Quote a value from the input for a message: printable, one line, bounded.

    Control characters, escape sequences and lone surrogates are written as
    backslash escapes; text longer than ``limit`` characters is cut with an
    ellipsis, so an attacker's 100 kB key never becomes a 100 kB message.

    Examples
    --------
    >>> shown("reliabilty")
    "'reliabilty'"
    >>> shown("\x1b[31mred")
    "'\\x1b[31mred'"
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = printable(text)
    return f"'{text}'" if isinstance(value, str) else text


def printable(text: str) -> str:
    """Escape what a terminal would interpret: control characters and lone surrogates."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    Attributes
    ----------
    message : str
        What is wrong.
    location : str
        Where in the document, e.g. ``evidence[3] (id nis-oct18).derived_from``.
    line, column : int or None
        One-based position in the file, when known.
    loc : tuple of str or int
        The same place as keys and indices from the document root, used to find
        the line and column.
    at_key : bool
        The problem is the key itself (an unknown or duplicate key), not its value.
    """

    message: str
    location: str = ""
    line: int | None = None
    column: int | None = None
    loc: tuple[str | int, ...] = ()
    at_key: bool = False

    def render(self, path: str | None = None) -> str:
        """The problem as one line: ``FILE:LINE:COL: location: message``."""
        where = path or ""
        if self.line is not None and where:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        elif self.line is not None:
            where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        parts = [p for p in (printable(where), self.location) if p]
        return ": ".join([*parts, self.message])


class CaseError(ValueError):
    """Input (a case, a table, options) that cannot be used; lists every problem found.

    Parameters
    ----------
    message : str, optional
        What is wrong (a single problem).
    location : str, optional
        Where in the input, as ``evidence[3].derived_from``.
    path : str, optional
        The file the input came from.
    line, column : int, optional
        One-based position in that file.
    loc : tuple, optional
        The place as keys and indices, to find the line and column from.
    problems : iterable of Problem, optional
        Several problems at once (instead of ``message``).

    Examples
    --------
    >>> err = CaseError("unknown source 'x'", "evidence[0].source", "case.yaml", line=7, column=15)
    >>> str(err)
    "case.yaml:7:15: evidence[0].source: unknown source 'x'"
    """

    def __init__(
        self,
        message: str = "",
        location: str = "",
        path: str | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
        loc: tuple[str | int, ...] = (),
        problems: Iterable[Problem] | None = None,
    ):
        found = tuple(problems or ())
        if not found:
            found = (Problem(message, location, line, column, loc),)
        self.problems: tuple[Problem, ...] = found
        self.path = path
        super().__init__(str(self))

    @property
    def message(self) -> str:
        """What is wrong (the first problem)."""
        return self.problems[0].message

    @property
    def location(self) -> str:
        """Where the first problem is."""
        return self.problems[0].location

    def with_path(self, path: str | None) -> CaseError:
        """Return the same error attributed to the file ``path``."""
        return CaseError(path=path, problems=self.problems)

    def located(
        self,
        locate: Callable[[tuple, bool], tuple[int, int] | None],
        place: Callable[[tuple], str] | None = None,
    ) -> CaseError:
        """Return the same error with each problem's line and column filled in.

        ``locate(loc, at_key)`` maps a problem's ``loc`` to ``(line, column)``
        or None; ``place(loc)``, if given, rewrites its location (to name the
        item's id). Problems are then ordered unknown keys first (a typo must
        never hide behind what it made missing), then by position.
        """
        problems = []
        for p in self.problems:
            if not p.loc and p.location:
                p = replace(p, loc=parse_location(p.location))
            if place is not None and p.loc:
                p = replace(p, location=place(p.loc))
            if p.line is None:
                found = locate(p.loc, p.at_key)
                if found is not None:
                    p = replace(p, line=found[0], column=found[1])
            problems.append(p)
        problems.sort(key=lambda p: (not p.at_key, p.line or 0, p.column or 0))
        return CaseError(path=self.path, problems=problems)

    def lines(self, limit: int = MAX_SHOWN_PROBLEMS) -> list[str]:
        """One line per problem, at most ``limit``, then how many more."""
        out = [p.render(self.path) for p in self.problems[:limit]]
        extra = len(self.problems) - limit
        if extra > 0:
            out.append(f"... and {extra} more problem{'s' * (extra > 1)}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __reduce__(self):
        return (_rebuild, (self.path, self.problems))


def _rebuild(path: str | None, problems: tuple[Problem, ...]) -> CaseError:
    return CaseError(path=path, problems=problems)
