"""Helpers shared by the benchmark scripts (run as `python benchmarks/<name>.py`, which puts
this folder on the import path)."""

from __future__ import annotations

import time

import jax


def compile_and_run_s(fn, repeats: int = 2) -> tuple[float, float]:
    """(compile seconds, best run seconds) of `fn()`: the first call's time less the best of
    `repeats` further calls, each waited for with `jax.block_until_ready`."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return first - best, best
