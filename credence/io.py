"""Reading and writing case files (YAML or JSON), safely."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from credence.case import Case
from credence.errors import CaseError, format_location

__all__ = ["atomic_write", "case_from_dict", "load_case", "read_document"]

MAX_BYTES = 50 * 1024 * 1024
#: Largest number of nodes a YAML document may expand to through aliases.
MAX_EXPANDED_NODES = 1_000_000


def atomic_write(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A reader never sees a half-written file, and a failure leaves the old file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _expanded_size(root: yaml.Node) -> int:
    """Count the nodes of a composed YAML graph as if every alias were copied."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise CaseError("recursive YAML alias (an anchor that contains itself)")
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        on_path.discard(key)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            raise CaseError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes; "
                "write the values out instead of nesting anchors"
            )
        return total

    return size(root)


def _load_yaml(text: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _expanded_size(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_document(path: str | os.PathLike[str]) -> Any:
    """Read a YAML or JSON file into plain Python data.

    YAML is read with the safe loader only (no tags that construct objects),
    and alias expansion is bounded.

    Raises
    ------
    CaseError
        The file cannot be read, is empty, binary, or not valid YAML/JSON.
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as err:
        raise CaseError(f"cannot read file: {err.strerror or err}", path=name) from None
    if raw is None:
        raise CaseError(f"file is larger than {MAX_BYTES // 2**20} MiB", path=name)
    if b"\x00" in raw:
        raise CaseError("binary file, not a YAML or JSON case", path=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CaseError("not UTF-8 text, not a YAML or JSON case", path=name) from None
    if not text.strip():
        raise CaseError("empty file", path=name)
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return _load_yaml(text)
    except json.JSONDecodeError as err:
        raise CaseError(f"invalid JSON: {err.msg}", f"line {err.lineno}", name) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "invalid YAML"
        if isinstance(err, yaml.constructor.ConstructorError) and "tag" in str(problem):
            problem = f"{problem} (tags that construct objects are not allowed)"
        raise CaseError(f"invalid YAML: {problem}", where, name) from None
    except yaml.YAMLError as err:
        raise CaseError(f"invalid YAML: {err}", path=name) from None
    except RecursionError:
        raise CaseError("document nested too deeply", path=name) from None
    except CaseError as err:
        raise err.with_path(name) from None


_UNION_FIELDS = {
    "reliability",
    "prior",
    "copy_probability",
    "likelihood_ratio",
    "sensitivity",
    "false_positive_rate",
}
_TAGS = {"number", "beta", "grade", "admiralty", "two-coin", "lognormal"}


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, CaseError):
        inner = original.location
        outer = format_location(loc)
        return original.message, ".".join(p for p in (outer, inner) if p)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif loc and loc[-1] == "[key]":
        loc = loc[:-1]
        message = f"unknown key {loc[-1]!r}: {message}"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    # pydantic puts the union member's tag after the field: drop it from the path.
    loc = tuple(
        p for i, p in enumerate(loc) if not (i and loc[i - 1] in _UNION_FIELDS and p in _TAGS)
    )
    return message, format_location(loc)


def case_from_dict(data: Any, path: str | None = None) -> Case:
    """Validate plain data (as read from a file) into a :class:`~credence.Case`.

    Raises
    ------
    CaseError
        Naming the first problem and where it is, e.g. ``evidence[3].derived_from``.
    """
    if not isinstance(data, dict):
        kind = "empty document" if data is None else f"a {type(data).__name__}"
        raise CaseError(f"a case must be a mapping of keys to values, not {kind}", path=path)
    if "credence" not in data:
        raise CaseError("missing format version: add `credence: 1` at the top", "credence", path)
    try:
        return Case.model_validate(data)
    except ValidationError as err:
        message, location = _describe(err.errors(include_url=False)[0])
        extra = len(err.errors()) - 1
        if extra:
            message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        raise CaseError(message, location, path) from None
    except CaseError as err:
        raise (err.with_path(path) if path else err) from None


def load_case(path: str | os.PathLike[str]) -> Case:
    """Read and validate a case file (YAML or JSON).

    Parameters
    ----------
    path : str or path-like
        A ``.yaml``, ``.yml`` or ``.json`` file in case format v1.

    Returns
    -------
    Case

    Raises
    ------
    CaseError
        With the file, the place in it and what is wrong.

    Examples
    --------
    >>> case = load_case("examples/north-korea-troops.yaml")  # doctest: +SKIP
    """
    return case_from_dict(read_document(path), str(path))
