"""The `wmjax` command. The only part of wmjax that prints tables, draws progress bars or writes
plots; everything it computes comes from the library's public API."""

from wmjax.cli._main import main

__all__ = ["main"]
