"""Shared output helpers for the CLI: tables, JSON, progress bars, number lists and figures."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wmjax._checks import InputError

#: Every command writes its files under OUT_ROOT/<command>/ unless --out says otherwise.
OUT_ROOT = "wmjax-out"

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
    """Print a table; numbers are formatted with `fmt`. On a terminal it fits the window
    (cells wrap, never cut); in a pipe or a CI log it is printed at its full natural width, so
    names and numbers are never truncated whatever the log's column count."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, str) else fmt(cell) for cell in row))
    width = None
    if not console.is_terminal:
        wide = console.options.update(width=10_000)
        width = Measurement.get(console, wide, table).maximum
    console.print(table, width=width, crop=False)


def out_dir(option: str, path: str | Path) -> Path:
    """The output folder `path`, created now, before any work: InputError naming `option` if
    it is an existing file or cannot be created (so a run never fails after its computing)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path} is a file; give a folder (default {OUT_ROOT}/<command>)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{option} {path}: cannot create the folder ({err.strerror})") from None
    return path


def default_out(command: str) -> str:
    """The default output folder of a command: wmjax-out/<command>."""
    return f"{OUT_ROOT}/{command}"


def load_lobster_day(market: str | Path, orderbook: str | Path | None = None):
    """A LOBSTER message file and its order book (default: the message file's name with
    'message' replaced by 'orderbook'), as `wmjax.data.LobsterData`."""
    from wmjax.data import load_lobster

    if orderbook is None:
        name = Path(market).name
        if "message" not in name:
            raise InputError(f"--market {market}: pass --orderbook (no 'message' in name)")
        orderbook = Path(market).with_name(name.replace("message", "orderbook"))
    return load_lobster(market, orderbook)


def versions() -> dict:
    """Versions of wmjax, Python and the numerical libraries, for provenance records."""
    out = {"python": platform.python_version()}
    for name in ("wmjax", "jax", "jaxlib", "numpy", "optax", "numpyro", "flax"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_digest(path: str | Path) -> dict:
    """{"path", "bytes", "sha256"} of an input file."""
    path = Path(path)
    data = path.read_bytes()
    return {"path": str(path), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def provenance(args, inputs: Sequence[str | Path] = (), **extra) -> dict:
    """What produced a result: the command line, every option (defaults included), the input
    files with their SHA-256, the library versions, the seed and the time (UTC)."""
    options = {k: v for k, v in vars(args).items() if k != "run" and not callable(v)}
    return {
        "command": "wmjax " + " ".join(sys.argv[1:]) if sys.argv else None,
        "options": options,
        "inputs": [file_digest(p) for p in inputs],
        "versions": versions(),
        "seed": options.get("seed"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default (unless its help already states one)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        stated = "default" in text or text.rstrip().endswith(f"({default})")
        if stated or default is None or default is False or default == argparse.SUPPRESS:
            return text
        if not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


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
