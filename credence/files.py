"""Reading input files and writing outputs, safely.

Only regular files are read, and never more than a stated number of bytes:
a FIFO, a device or a directory is refused before anything is read (so
``/dev/zero`` and a FIFO with no writer neither fill memory nor block).
Outputs are written to temporary files beside their targets and renamed
into place together, only after every one has been written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from credence.errors import CaseError, Problem

__all__ = ["MAX_CASE_BYTES", "MAX_TABLE_BYTES", "check_outputs", "read_text", "write_outputs"]

#: Largest case file read (YAML or JSON).
MAX_CASE_BYTES = 16 * 2**20
#: Largest table read (reports, truth, predictions). Parsed, a CSV takes about 30 times
#: its size in memory, so this keeps a command under about 2 GiB; larger data sets are
#: for :class:`credence.discovery.DaskTruthDiscovery`.
MAX_TABLE_BYTES = 64 * 2**20


def _size_text(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_text(path: str | os.PathLike[str], *, max_bytes: int, what: str = "file") -> str:
    """Read a regular file of at most ``max_bytes`` bytes as UTF-8 text.

    Parameters
    ----------
    path : str or path-like
        The file.
    max_bytes : int
        Refuse files larger than this (counted while reading, not trusted from
        ``stat``).
    what : str
        What the file is, for messages (``"case file"``, ``"table"``).

    Returns
    -------
    str
        The text, with a leading byte-order mark removed.

    Raises
    ------
    CaseError
        Not a regular file, unreadable, too large, empty, binary or not UTF-8.
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as err:
        raise CaseError(f"cannot read {what}: {err.strerror or err}", path=name) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(mode)
                else "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise CaseError(f"cannot read {what}: {kind}, not a regular file", path=name)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise CaseError(
                    f"{what} is larger than {_size_text(max_bytes)}, the most credence reads",
                    path=name,
                )
    except OSError as err:
        raise CaseError(f"cannot read {what}: {err.strerror or err}", path=name) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if b"\x00" in raw:
        raise CaseError(f"binary data (a NUL byte), not a text {what}", path=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise CaseError(f"not UTF-8 text (byte {err.start})", path=name, line=line) from None
    if not text.strip():
        raise CaseError(f"empty {what}", path=name)
    return text


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _mode_for(path: Path) -> int:
    """The existing target's permissions, or those of a new file under the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def check_outputs(
    paths: Iterable[str | os.PathLike[str]],
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse output paths that cannot be written safely, before any work is done.

    Each must be distinct from the others and from every input, in an existing
    folder, and not a directory or other non-regular file.

    Raises
    ------
    CaseError
        Listing every refused path.
    """
    targets = [Path(os.fspath(p)) for p in paths]
    sources = [Path(os.fspath(p)) for p in inputs]
    problems = []
    for i, path in enumerate(targets):
        name = str(path)
        if any(_same_file(path, other) for other in targets[:i]):
            problems.append(f"{name}: the same file is given for two outputs")
        elif any(_same_file(path, src) for src in sources):
            problems.append(f"{name}: output would overwrite an input file")
        elif path.is_dir():
            problems.append(f"{name}: is a directory; give a file name")
        elif not (path.parent if str(path.parent) else Path(".")).is_dir():
            problems.append(f"{name}: folder {str(path.parent)!r} does not exist")
        elif path.exists() and not path.is_file():
            problems.append(f"{name}: not a regular file; refusing to replace it")
    if problems:
        raise CaseError(problems=[Problem(p) for p in problems])


def write_outputs(
    outputs: Mapping[str | os.PathLike[str], str] | Iterable[tuple[str | os.PathLike[str], str]],
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write several text outputs all together, or none of them.

    Every target is checked first (:func:`check_outputs`); each text goes to a
    temporary file beside its target; only when all are written are they
    renamed into place.

    Parameters
    ----------
    outputs : mapping of path to str, or (path, str) pairs
        What to write where (pairs let two outputs given the same path be refused).
    inputs : iterable of path
        Files the command read; writing over one of them is refused.

    Raises
    ------
    CaseError
        A target is refused or cannot be written; no target has changed.
    """
    pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
    targets = [(Path(os.fspath(p)), text) for p, text in pairs]
    check_outputs([path for path, _ in targets], inputs)
    written: list[tuple[str, Path]] = []
    try:
        for path, text in targets:
            fd, tmp = tempfile.mkstemp(
                dir=path.parent if str(path.parent) else ".",
                prefix=f".{path.name}.",
                suffix=".tmp",
            )
            written.append((tmp, path))
            # mkstemp makes the file private (0600); give it the mode a new file would have.
            os.fchmod(fd, _mode_for(path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
    except OSError as err:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise CaseError(f"cannot write output: {err.strerror or err}", path=str(path)) from None
    except BaseException:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in written:
        os.replace(tmp, path)
