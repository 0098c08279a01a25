"""Reading YAML and JSON documents strictly: plain data plus where each value was.

YAML is read from the parser's event stream with the YAML 1.2 core schema:
``yes``, ``on`` and ``2024-10-18`` stay text (never a boolean or a date), numbers
are written as numbers, keys are always text (``true:`` is the key ``"true"``), and
explicit tags other than the core ones are refused.
Both formats refuse duplicate keys (naming both lines), documents of more than
:data:`MAX_VALUES` values (counting every alias as a copy), nesting deeper than
:data:`MAX_DEPTH`, and integers longer than :data:`MAX_DIGITS` digits, so that
time and memory stay bounded for any file up to the size cap.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from credence.errors import CaseError, Problem, shown

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_VALUES", "Document", "parse_json", "parse_yaml"]

#: Most values (scalars and collections, aliases counted as copies) a document may hold.
MAX_VALUES = 500_000
#: Deepest nesting of collections.
MAX_DEPTH = 64
#: Longest integer literal, in digits.
MAX_DIGITS = 30

Path = tuple[str | int, ...]
Mark = tuple[int, int]  # one-based line and column


@dataclass
class Document:
    """Plain data read from a file, with the position of each value.

    Attributes
    ----------
    data : Any
        Dicts, lists, str, int, float, bool and None.
    positions : dict
        ``path -> (key position, value position)``, one-based ``(line, column)``;
        the key position is the value's for list items.
    """

    data: Any
    positions: dict[Path, tuple[Mark, Mark]] = field(default_factory=dict)

    def locate(self, path: Path, at_key: bool = False) -> Mark | None:
        """Position of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found[0] if at_key else found[1]
            path = path[:-1]
        return self.positions.get((), ((1, 1), (1, 1)))[1]


# --- YAML -----------------------------------------------------------------------------

_CORE = "tag:yaml.org,2002:"
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")


class _Fatal(Exception):
    def __init__(self, message: str, mark: Mark):
        self.message, self.mark = message, mark


def _int(text: str, mark: Mark) -> int:
    digits = text.lstrip("+-")
    if len(digits) > MAX_DIGITS:
        raise _Fatal(f"an integer of more than {MAX_DIGITS} digits ({len(digits)})", mark)
    if digits.startswith(("0o", "0x")):
        return int(digits[2:], 8 if digits[1] == "o" else 16)
    return int(text)


def _float(text: str) -> float:
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return float(text)


def _plain(text: str, mark: Mark) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return _int(text, mark)
    if _FLOAT.fullmatch(text) or _INF.fullmatch(text) or _NAN.fullmatch(text):
        return _float(text)
    return text


def _tagged(tag: str, text: str, mark: Mark) -> Any:
    name = tag.removeprefix(_CORE)
    if name == "str":
        return text
    value = _plain(text, mark)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}.get(name)
    if expected is None or tag == name:
        raise _Fatal(f"YAML tag {shown(tag)} is not allowed: write plain values", mark)
    if not isinstance(value, expected) or (name != "bool" and isinstance(value, bool)):
        raise _Fatal(f"{shown(text)} is not a valid !!{name}", mark)
    return float(value) if name == "float" else value


def _events(text: str):
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        yield from yaml.parse(text, Loader=yaml.SafeLoader)
        return
    parser = CParser(text)
    while parser.check_event():
        yield parser.get_event()


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_mark", "path", "seen", "start")

    def __init__(self, container, path, anchor, start):
        self.container, self.path, self.anchor, self.start = container, path, anchor, start
        self.key: Any = _Frame
        self.key_mark: Mark = (1, 1)
        self.seen: dict[Any, Mark] = {}


def parse_yaml(text: str) -> Document:
    """Read one YAML document strictly (see the module docstring).

    Raises
    ------
    CaseError
        Invalid YAML, a refused construct, or duplicate keys (all of them listed).
    """
    doc = Document(None)
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    duplicates: list[Problem] = []
    count = 0
    documents = 0

    def attach(value: Any, mark: Mark, is_collection: bool) -> Path:
        if not stack:
            doc.data = value
            doc.positions[()] = (mark, mark)
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            path = (*top.path, len(top.container))
            top.container.append(value)
            doc.positions.setdefault(path, (mark, mark))
            return path
        if top.key is _Frame:  # this value is a key
            if is_collection:
                raise _Fatal("a key must be plain text, not a list or mapping", mark)
            key = value
            if key in top.seen:
                first = top.seen[key]
                duplicates.append(
                    Problem(
                        f"duplicate key {shown(str(key))} (first at line {first[0]})",
                        line=mark[0],
                        column=mark[1],
                    )
                )
            else:
                top.seen[key] = mark
            top.key, top.key_mark = key, mark
            return top.path
        path = (*top.path, top.key)
        if top.key not in top.container:
            top.container[top.key] = value
            doc.positions.setdefault(path, (top.key_mark, mark))
        top.key = _Frame
        return path

    try:
        for event in _events(text):
            mark = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Fatal("more than one YAML document (a second '---')", mark)
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise _Fatal(f"recursive alias *{event.anchor} (inside its own anchor)", mark)
                if event.anchor not in anchors:
                    raise _Fatal(f"undefined alias *{shown(event.anchor)}", mark)
                value, size = anchors[event.anchor]
                count += size
                if count > MAX_VALUES:
                    raise _Fatal(_too_many(), mark)
                attach(value, mark, isinstance(value, list | dict))
                continue
            if isinstance(event, yaml.ScalarEvent):
                count += 1
                if count > MAX_VALUES:
                    raise _Fatal(_too_many(), mark)
                plain = event.implicit[0] and event.tag in (None, "!")
                if stack and isinstance(stack[-1].container, dict) and stack[-1].key is _Frame:
                    # A key is text: `true:`, `1:` and `~:` are the keys "true", "1", "~".
                    if not plain and event.tag not in (None, "!", _CORE + "str"):
                        raise _Fatal(f"a key is text; YAML tag {shown(event.tag)} on a key", mark)
                    value = event.value
                elif plain:
                    value = _plain(event.value, mark)
                elif event.tag in (None, "!", _CORE + "str"):
                    value = event.value
                else:
                    value = _tagged(event.tag, event.value, mark)
                attach(value, mark, False)
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
                continue
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                kind = "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
                if event.tag not in (None, "!", _CORE + kind):
                    raise _Fatal(f"YAML tag {shown(event.tag)} is not allowed", mark)
                count += 1
                if count > MAX_VALUES:
                    raise _Fatal(_too_many(), mark)
                if len(stack) >= MAX_DEPTH:
                    raise _Fatal(f"nested more than {MAX_DEPTH} levels deep", mark)
                container: Any = [] if kind == "seq" else {}
                path = attach(container, mark, True)
                stack.append(_Frame(container, path, event.anchor, count))
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                continue
            if isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                frame = stack.pop()
                if frame.anchor is not None:
                    open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (frame.container, count - frame.start + 1)
    except _Fatal as err:
        raise CaseError(err.message, line=err.mark[0], column=err.mark[1]) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        raise CaseError(
            f"invalid YAML: {problem}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as err:
        raise CaseError(f"invalid YAML: {err}") from None
    if duplicates:
        raise CaseError(problems=duplicates)
    return doc


def _too_many() -> str:
    return f"more than {MAX_VALUES:,} values (aliases counted as copies): too large for a case file"


# --- JSON -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<punct>[{}\[\]:,])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<atom>[^\s{}\[\]:,"]+))', re.S
)


class _LongInteger(Exception):
    pass


def parse_json(text: str) -> Document:
    """Read a JSON document strictly: no duplicate keys, bounded size and depth.

    Positions are found only when a problem needs them (see
    :meth:`Document.locate`), by a second pass over the text.

    Raises
    ------
    CaseError
        Invalid JSON or duplicate keys (all of them listed, with both lines).
    """
    duplicated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        out = dict(items)
        if len(out) != len(items):
            duplicated = True
        return out

    def integer(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_DIGITS:
            raise _LongInteger(literal)
        return int(literal)

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_int=integer)
    except json.JSONDecodeError as err:
        raise CaseError(f"invalid JSON: {err.msg}", line=err.lineno, column=err.colno) from None
    except _LongInteger as err:
        line, column = _line_col(text, text.find(str(err)))
        raise CaseError(
            f"an integer of more than {MAX_DIGITS} digits", line=line, column=column
        ) from None
    except RecursionError:
        raise CaseError(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_size(data)
    doc = _LazyJson(data, text)
    if duplicated:
        raise CaseError(problems=doc.duplicates())
    return doc


def _check_size(data: Any) -> None:
    # Only collections go on the stack: a list of millions of scalars costs no memory here.
    count, todo = 1, [(data, 0)] if isinstance(data, dict | list) else []
    while todo:
        value, depth = todo.pop()
        if depth >= MAX_DEPTH:
            raise CaseError(f"nested more than {MAX_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value
        count += len(children)
        if count > MAX_VALUES:
            raise CaseError(_too_many())
        todo.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def _line_col(text: str, offset: int) -> Mark:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _LazyJson(Document):
    """A JSON document whose positions are scanned on first use."""

    def __init__(self, data: Any, text: str):
        super().__init__(data)
        self._text: str | None = text
        self._duplicates: list[Problem] = []

    def _scan(self) -> None:
        text, self._text = self._text, None
        if text is None:
            return
        newlines = [m.start() for m in re.finditer("\n", text)]

        def mark(offset: int) -> Mark:
            line = bisect.bisect_left(newlines, offset)
            start = newlines[line - 1] + 1 if line else 0
            return line + 1, offset - start + 1

        # frames: [path, is_object, next index, pending key, key mark, seen keys]
        stack: list[list[Any]] = []
        expect_key = False
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            offset = m.start(kind)
            token = m.group(kind)
            if kind == "punct":
                if token in "}]":
                    stack.pop()
                elif token == ",":
                    expect_key = bool(stack) and stack[-1][1]
                elif token == ":":
                    expect_key = False
                else:
                    path = self._value_path(stack, mark(offset))
                    stack.append([path, token == "{", 0, None, None, {}])
                    expect_key = token == "{"
                continue
            if expect_key and kind == "string":
                frame = stack[-1]
                key = json.loads(token)
                here = mark(offset)
                if key in frame[5]:
                    self._duplicates.append(
                        Problem(
                            f"duplicate key {shown(key)} (first at line {frame[5][key][0]})",
                            line=here[0],
                            column=here[1],
                        )
                    )
                else:
                    frame[5][key] = here
                frame[3], frame[4] = key, here
                expect_key = False
                continue
            self._value_path(stack, mark(offset))

    def _value_path(self, stack: list[list[Any]], here: Mark) -> Path:
        if not stack:
            self.positions[()] = (here, here)
            return ()
        frame = stack[-1]
        if frame[1]:
            path = (*frame[0], frame[3])
            self.positions.setdefault(path, (frame[4], here))
        else:
            path = (*frame[0], frame[2])
            frame[2] += 1
            self.positions.setdefault(path, (here, here))
        return path

    def duplicates(self) -> list[Problem]:
        """Every duplicate key, with the line of its first occurrence."""
        self._scan()
        return self._duplicates

    def locate(self, path: Path, at_key: bool = False) -> Mark | None:  # noqa: D102
        self._scan()
        return super().locate(path, at_key)
