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
