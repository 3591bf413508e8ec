"""Shared output helpers for the CLI: tables, JSON, progress bars, number lists and figures."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wmjax._checks import InputError

console = Console()
stderr_console = Console(stderr=True)


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")


def print_json(obj) -> None:
    """Print `obj` as one JSON object (numpy and JAX arrays become lists, NaN becomes null)."""
    print(json.dumps(_plain(obj)))


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str):
        return _plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def fmt(value, digits: int = 4) -> str:
    """A number as a short readable string."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return (
            f"{value:.{digits}g}"
            if abs(value) < 1
            else f"{value:,.{digits}f}".rstrip("0").rstrip(".")
        )
    return f"{value:.{digits - 1}e}"


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Print a table; numbers are formatted with `fmt`."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, str) else fmt(cell) for cell in row))
    console.print(table)


def progress(enabled: bool = True) -> Progress:
    """A progress bar on stderr (so `--json` output on stdout stays clean)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr_console,
        disable=not enabled,
        transient=True,
    )


def parse_numbers(name: str, text: str) -> np.ndarray:
    """Parse a vector `"a,b,c"`, a matrix `"a,b;c,d"` (rows split by `;`), or a JSON file path.

    A JSON file holds a number, a list, or a list of lists. A scalar stays 0-d.
    """
    path = Path(text)
    if text.endswith(".json"):
        if not path.is_file():
            raise InputError(f"{name}: JSON file {text} does not exist")
        try:
            return np.asarray(json.loads(path.read_text()), dtype=float)
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            raise InputError(f"{name}: {text} is not a JSON number, list or list of lists") from err
    try:
        rows = [[float(v) for v in row.split(",") if v.strip()] for row in text.split(";")]
    except ValueError as err:
        raise InputError(
            f"{name}: cannot read {text!r}; write a vector as 0.1,0.2 and a matrix as 0.1,0;0,0.1"
        ) from err
    if len({len(r) for r in rows}) != 1 or not rows[0]:
        raise InputError(f"{name}: rows of {text!r} have different lengths or are empty")
    if ";" in text:
        return np.asarray(rows)
    arr = np.asarray(rows[0])
    return arr[0] if arr.size == 1 else arr


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure as PNG, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
