"""Pre-trained weights shipped with the package (flax msgpack), written by
benchmarks/execution_world.py."""

from __future__ import annotations

from pathlib import Path

from flax import serialization

from wmjax._checks import require

WEIGHTS = Path(__file__).parent / "weights"


def save_params(path, params) -> None:
    """Write a params PyTree as flax msgpack bytes (creating the folder)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(serialization.to_bytes(params))


def load_params(path, template):
    """Read params written by `save_params` into the structure of `template`."""
    path = Path(path)
    require(
        path.is_file(),
        f"model weights {path} not found; train them with benchmarks/execution_world.py "
        "--save-weights or pass a path",
    )
    return serialization.from_bytes(template, path.read_bytes())
