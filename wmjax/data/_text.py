"""Reading user text files: UTF-8 (a byte-order mark accepted), errors that name the line."""

from __future__ import annotations

from pathlib import Path

from wmjax._checks import InputError


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of `path` decoded as UTF-8 (a leading BOM, as Excel writes, is dropped).

    Raises InputError naming the file, the 1-based line and column of the first byte that is
    not UTF-8 (a binary file, or text saved as Latin-1), and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist (or is not a file)")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(
            f"{path} line {line}, column {column}: byte 0x{data[err.start]:02x} is not UTF-8 "
            f"text; is this the right {what}? If it is text, save it as UTF-8"
        ) from None


def read_lines(path: str | Path, what: str = "file") -> list[str]:
    """`read_text(path, what)` split into lines."""
    return read_text(path, what).splitlines()
