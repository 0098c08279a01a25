"""Reading case files (YAML or JSON): strict, bounded, every problem located."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from credence.case import Case, place_of, validate_case
from credence.document import Document, parse_json, parse_yaml
from credence.errors import CaseError
from credence.files import MAX_CASE_BYTES, read_text

__all__ = ["CaseFile", "case_from_dict", "load_case", "read_document"]


def _parse(path: str | os.PathLike[str]) -> tuple[Document, str]:
    name = os.fspath(path)
    text = read_text(name, max_bytes=MAX_CASE_BYTES, what="case file")
    parse = parse_json if Path(name).suffix.lower() == ".json" else parse_yaml
    try:
        return parse(text), name
    except CaseError as err:
        raise err.with_path(name) from None


@dataclass(frozen=True)
class CaseFile:
    """A case read from a file, with what it takes to locate a problem in that file.

    Attributes
    ----------
    path : str
    document : Document
        The plain data and the line and column of each value.
    case : Case
    """

    path: str
    document: Document
    case: Case

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> CaseFile:
        """Read and validate a case file; see :func:`load_case`."""
        document, name = _parse(path)
        try:
            case = validate_case(document.data)
        except CaseError as err:
            raise _located(err, name, document) from None
        return cls(name, document, case)

    def explain(self, err: CaseError) -> CaseError:
        """The error attributed to this file: line, column and item id of each problem.

        For problems found after reading, such as evidence that the engine finds
        impossible.
        """
        return _located(err, self.path, self.document)


def _located(err: CaseError, path: str, document: Document) -> CaseError:
    place = partial(place_of, root=document.data)
    return err.with_path(path).located(document.locate, place)


def read_document(path: str | os.PathLike[str]) -> Any:
    """Read a YAML or JSON file into plain Python data, strictly.

    YAML follows the 1.2 core schema (``yes`` and ``2024-10-18`` stay text);
    duplicate keys, explicit tags and oversized documents are refused.

    Raises
    ------
    CaseError
        The file cannot be read, is not a regular file, is too large, empty,
        binary, or not valid YAML/JSON.
    """
    return _parse(path)[0].data


def case_from_dict(data: Any, path: str | None = None) -> Case:
    """Validate plain data (as read from a file) into a :class:`~credence.Case`.

    Raises
    ------
    CaseError
        Listing every problem and where it is, e.g. ``evidence[3] (id e4).derived_from``.
    """
    try:
        return validate_case(data)
    except CaseError as err:
        raise (err.with_path(path) if path else err) from None


def load_case(path: str | os.PathLike[str]) -> Case:
    """Read and validate a case file (YAML or JSON).

    Parameters
    ----------
    path : str or path-like
        A ``.yaml``, ``.yml`` or ``.json`` file in case format v1, at most
        16 MiB and 500,000 values.

    Returns
    -------
    Case

    Raises
    ------
    CaseError
        Listing every problem as ``FILE:LINE:COL: place: what is wrong``.

    Examples
    --------
    >>> case = load_case("examples/north-korea-troops.yaml")  # doctest: +SKIP
    """
    return CaseFile.read(path).case
