"""Validation at the public boundary: clear errors that name the argument and the fix.

Every public entry point checks its concrete inputs with these helpers before it calls jitted
code. Under `jit`/`vmap`/`grad` the inputs are tracers and cannot be checked on the host; those
paths return status flags instead (see each module).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer


class InputError(ValueError):
    """Raised when a public function gets input it cannot use; the message says how to fix it."""


def is_concrete(*xs) -> bool:
    """True when none of `xs` is a JAX tracer, i.e. their values can be checked on the host."""
    return not any(isinstance(x, Tracer) for x in xs)


def show(value) -> str:
    """A number or array as plain text for messages: `0.5`, `[0.1, -0.2]`, `[[1, 0], [0, 1]]`
    (no numpy repr, no dtype, at most 6 significant digits)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        return repr(value)
    if arr.ndim == 0:
        x = arr.item()
        return f"{x:.6g}" if isinstance(x, float) else str(x)
    if arr.size > 12:
        flat = arr.ravel()
        return f"{show(flat[:6])[:-1]}, ... ({arr.size} values, shape {tuple(arr.shape)})]"
    return "[" + ", ".join(show(x) for x in arr) + "]"


def require(condition: bool, message: str) -> None:
    """Raise `InputError(message)` unless `condition` holds."""
    if not condition:
        raise InputError(message)


def finite_array(name: str, value, *, ndim: int | None = None, dtype=float) -> np.ndarray:
    """`value` as a numpy array with no NaN/inf (and `ndim` dims if given), else InputError."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric, got {value!r}") from err
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite (no NaN or inf), got {show(arr)}")
    return arr


def positive(name: str, value, *, allow_zero: bool = False) -> np.ndarray:
    """`value` as a finite numpy array whose entries are > 0 (>= 0 with `allow_zero`)."""
    arr = finite_array(name, value)
    ok = np.all(arr >= 0) if allow_zero else np.all(arr > 0)
    sign = ">= 0" if allow_zero else "> 0"
    require(bool(ok), f"{name} must be {sign}, got {show(arr)}")
    return arr


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """`value` as a Python int >= `minimum`, else InputError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    require(int(value) >= minimum, f"{name} must be >= {minimum}, got {value}")
    return int(value)


def finite_tree(name: str, tree) -> None:
    """InputError naming the first float leaf of `tree` that holds a NaN or inf (concrete
    values only: under jit or grad the caller's own checks apply)."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if not is_concrete(leaf) or not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            continue
        if not bool(np.all(np.isfinite(np.asarray(leaf)))):
            raise InputError(f"{name}{jax.tree_util.keystr(path)} must be finite (no NaN or inf)")
