import os

# The suite is compile-bound (most of its CPU time is XLA compiling small test programs).
# LLVM at -O1 compiles them in about half the time and runs them about as fast (measured on
# the slowest files: 14% fewer CPU seconds in all, runtime-heavy NUTS tests included), so the
# tests ask for it; a user's own runs keep XLA's default. Set before jax starts its backend.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=1"
    ).strip()

import jax
import pytest


@pytest.fixture
def x64():
    """Run a test with 64-bit floats enabled (likelihood checks need them)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="module", autouse=True)
def _release_compiled_programs():
    """Drop every compiled program after each test module. A pytest-xdist worker lives for the
    whole suite and compiles thousands of programs; each keeps about three memory mappings
    until it is released, and a worker that reaches the kernel's limit (vm.max_map_count,
    65,530) segfaults inside the next XLA compile."""
    yield
    jax.clear_caches()
