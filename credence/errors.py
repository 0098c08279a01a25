"""The one error type a user sees for a bad case: what, where, why."""

from __future__ import annotations

__all__ = ["CaseError", "format_location"]


def format_location(loc: tuple[str | int, ...]) -> str:
    """Render a location path as it reads in a case file.

    Parameters
    ----------
    loc : tuple of str or int
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
            out += f".{part}" if out else str(part)
    return out


class CaseError(ValueError):
    """A case (file or Python objects) that cannot be assessed.

    Parameters
    ----------
    message : str
        What is wrong.
    location : str, optional
        Where in the case, as ``evidence[3].derived_from``.
    path : str, optional
        The file the case came from.
    """

    def __init__(self, message: str, location: str = "", path: str | None = None):
        self.message = message
        self.location = location
        self.path = path
        super().__init__(str(self))

    def with_path(self, path: str) -> CaseError:
        """Return the same error attributed to the file ``path``."""
        return CaseError(self.message, self.location, path)

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.path, self.location) if p)
        return f"{where}: {self.message}" if where else self.message
