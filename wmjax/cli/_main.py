"""Argument parsing and dispatch for the `wmjax` command; bad input ends in one clear line."""

from __future__ import annotations

import argparse
import sys

from wmjax import __version__
from wmjax._checks import InputError
from wmjax.cli import (
    _advise,
    _best_execution,
    _book,
    _counterfactual,
    _dashboard,
    _demo,
    _desk,
    _evaluate,
    _execution,
    _hawkes,
    _market_make,
    _placement,
    _pretrade,
    _regimes,
    _route,
    _statarb,
    _tca,
    _vwap,
    _worldmodel,
)
from wmjax.cli._common import DefaultsHelpFormatter

# Each module adds its sub-commands with `register(subparsers)`; each sub-command sets `run`.
COMMAND_MODULES: tuple = (
    _book,
    _pretrade,
    _counterfactual,
    _tca,
    _advise,
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
    _desk,
    _best_execution,
    _dashboard,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wmjax",
        description="Market-microstructure simulation and differentiable execution in JAX.",
    )
    parser.add_argument("--version", action="version", version=f"wmjax {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    _show_defaults(parser)
    return parser


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Every sub-command's --help shows its defaults (set once here, for all modules)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.formatter_class = DefaultsHelpFormatter
                _show_defaults(sub)


def main(argv: list[str] | None = None) -> int:
    """Run the `wmjax` command line; returns the process exit code (2 for bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (
        InputError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    ) as err:
        print(f"wmjax {args.command}: error: {err}", file=sys.stderr)
        return 2
