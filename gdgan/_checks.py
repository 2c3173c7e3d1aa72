"""Argument checks shared by the library: one-line messages naming the argument.

Concrete values are checked in Python (a `ValueError` at call time); traced values (inside
`jit` / `vmap`) are checked with `equinox.error_if`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def float_array(x, owner: str, name: str):
    """`x` as a floating-point array (default float dtype), or a one-line `TypeError`."""
    if isinstance(x, jax.core.Tracer):
        return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)
    try:
        arr = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        arr = None
    if arr is None or arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{owner}: `{name}` must be a number or numeric array, got {x!r}")
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating):
        return x
    return jnp.asarray(arr, dtype=float)


def _check(x, bad, owner: str, name: str, expected: str):
    if is_concrete(x):
        values = np.asarray(x)
        if np.any(bad(values)):
            shown = values.item() if values.size == 1 else values.tolist()
            raise ValueError(f"{owner}: `{name}` must be {expected}, got {shown}")
        return x
    return eqx.error_if(x, bad(x), f"{owner}: `{name}` must be {expected}")


def check_positive(x, owner: str, name: str):
    return _check(x, lambda v: ~(v > 0), owner, name, "positive")


def check_nonnegative(x, owner: str, name: str):
    return _check(x, lambda v: ~(v >= 0), owner, name, "non-negative")


def check_finite_tree(tree, owner: str, name: str):
    """Raise a `ValueError` when a concrete pytree holds NaN or inf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if (
            eqx.is_inexact_array(leaf)
            and is_concrete(leaf)
            and not np.all(np.isfinite(np.asarray(leaf)))
        ):
            raise ValueError(
                f"{owner}: `{name}` must be finite, got NaN/inf at {jax.tree_util.keystr(path)}"
            )
    return tree
