"""Argument checks shared by the library: one-line messages naming the argument.

Concrete values are checked in Python (an `InputError`, a `ValueError`, at call time);
traced values (inside `jit` / `vmap`) are checked with `equinox.error_if`. Every message has
one form, `name: expected …, got …`, so that the command line can print it as it is.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


class GdganError(Exception):
    """Base class of the errors gdgan raises for a caller's mistake (bad input).

    Catch `gdgan.GdganError` to tell a caller's mistake from a bug: the command line turns
    it into one line and exit status 2, and anything else into an "internal error" (exit 1).
    """


class InputError(GdganError, ValueError):
    """A bad value of an argument (a `ValueError`, so `except ValueError` still catches it).

    **Example:**

    ```python
    import gdgan

    try:
        gdgan.Normal(0.0, -1.0)
    except gdgan.InputError as e:
        print(e)  # Normal: std: expected a positive number, got -1.0
    ```
    """


class InputTypeError(GdganError, TypeError):
    """An argument of the wrong type (a `TypeError`, so `except TypeError` still catches it)."""


class MissingExtraError(GdganError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import `module`, or raise a `MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise MissingExtraError(
            f"{module}: expected the optional dependency to be installed, got none "
            f"(pip install 'gdgan[{extra}]')"
        ) from None


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def float_array(x, owner: str, name: str):
    """`x` as a floating-point array (default float dtype), or a one-line `InputTypeError`."""
    if isinstance(x, jax.core.Tracer):
        return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(float)
    try:
        arr = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        arr = None
    if arr is None or arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise InputTypeError(f"{owner}: {name}: expected a number or numeric array, got {x!r}")
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating):
        return x
    return jnp.asarray(arr, dtype=float)


def _check(x, bad, owner: str, name: str, expected: str):
    if is_concrete(x):
        values = np.asarray(x)
        if np.any(bad(values)):
            shown = values.item() if values.size == 1 else values.tolist()
            raise InputError(f"{owner}: {name}: expected {expected}, got {shown}")
        return x
    return eqx.error_if(x, bad(x), f"{owner}: {name}: expected {expected}")


def check_positive(x, owner: str, name: str):
    return _check(x, lambda v: ~(v > 0), owner, name, "a positive number")


def check_nonnegative(x, owner: str, name: str):
    return _check(x, lambda v: ~(v >= 0), owner, name, "a non-negative number")


def _integer_phrase(low: int) -> str:
    return {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")


def check_int(value, owner: str, name: str, *, low: int = 1, allow_none: bool = False):
    """`value` as a Python `int` >= `low` (a Python or NumPy integer, not a bool), else an
    `InputError`; `None` is returned as it is when `allow_none`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{owner}: {name}: expected {_integer_phrase(low)}, got {value!r}")
    return int(value)


def check_int_array(x, owner: str, name: str, *, low: int = 1):
    """A concrete integer scalar or array (not bool) with every entry >= `low`, else an
    `InputError`; a traced `x` is returned unchecked."""
    if is_concrete(x):
        values = np.asarray(x)
        if (
            values.dtype == bool
            or not np.issubdtype(values.dtype, np.integer)
            or np.any(values < low)
        ):
            shown = values.item() if values.size == 1 else values.tolist()
            raise InputError(f"{owner}: {name}: expected {_integer_phrase(low)}, got {shown!r}")
    return x


def check_number(value, owner: str, name: str, *, positive: bool = True, allow_none=False):
    """A finite real scalar (and positive when `positive`): a Python or NumPy number or a 0-d
    numeric array, not a bool.

    **Returns:** a concrete `value` as a Python `float`; a traced scalar as it is, wrapped in
    `equinox.error_if`; `None` as it is when `allow_none`. A value of the wrong type raises an
    `InputTypeError`, a bad value or shape an `InputError`.
    """
    if value is None and allow_none:
        return None
    expected = "a positive finite number" if positive else "a finite number"
    if isinstance(value, jax.core.Tracer):
        if value.ndim != 0:
            raise InputError(
                f"{owner}: {name}: expected {expected}, got a traced array of shape {value.shape}"
            )
        bad = ~jnp.isfinite(value) | (~(value > 0) if positive else False)
        return eqx.error_if(value, bad, f"{owner}: {name}: expected {expected}")
    try:
        arr = None if isinstance(value, (bool, np.bool_, str, bytes)) else np.asarray(value)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        arr = None
    if (
        arr is None
        or arr.dtype == object
        or not np.issubdtype(arr.dtype, np.number)
        or np.iscomplexobj(arr)
    ):
        raise InputTypeError(f"{owner}: {name}: expected {expected}, got {value!r}")
    if arr.ndim != 0:
        raise InputError(f"{owner}: {name}: expected {expected}, got an array of shape {arr.shape}")
    v = float(arr)
    if not math.isfinite(v) or (positive and not v > 0):
        raise InputError(f"{owner}: {name}: expected {expected}, got {arr.item()!r}")
    return v


def check_finite_tree(tree, owner: str, name: str):
    """Raise an `InputError` when a concrete pytree holds NaN or inf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if (
            eqx.is_inexact_array(leaf)
            and is_concrete(leaf)
            and not np.all(np.isfinite(np.asarray(leaf)))
        ):
            raise InputError(
                f"{owner}: {name}: expected finite values, got NaN/inf at "
                f"{jax.tree_util.keystr(path)}"
            )
    return tree
