"""Argument parsing and dispatch for the `wmjax` command; bad input ends in one clear line."""

from __future__ import annotations

import argparse
import sys

from wmjax._checks import InputError
from wmjax.cli import (
    _analytics,
    _book,
    _demo,
    _evaluate,
    _execution,
    _hawkes,
    _market_make,
    _placement,
    _regimes,
    _route,
    _statarb,
    _vwap,
    _worldmodel,
)

# Each module adds its sub-commands with `register(subparsers)`; each sub-command sets `run`.
COMMAND_MODULES: tuple = (
    _book,
    _analytics,
    _execution,
    _demo,
    _hawkes,
    _placement,
    _market_make,
    _statarb,
    _regimes,
    _vwap,
    _evaluate,
    _route,
    _worldmodel,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wmjax",
        description="Market-microstructure simulation and differentiable execution in JAX.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `wmjax` command line; returns the process exit code (2 for bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (InputError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"wmjax {args.command}: error: {err}", file=sys.stderr)
        return 2
