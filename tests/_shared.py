"""Where the tests find the real data: the `shared/data` folder beside the repository
(override with the environment variable WMJAX_SHARED_DATA)."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("WMJAX_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
LOBSTER = SHARED_DATA / "lobster"


def shared_file(*parts: str) -> Path:
    """A file under shared/data; fails the test with a clear message when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.fail(
            f"shared data file missing: {path}. The tests expect the shared data folder beside "
            "the repository (or WMJAX_SHARED_DATA pointing at it)."
        )
    return path
