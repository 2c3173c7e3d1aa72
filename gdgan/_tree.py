"""Pytree plumbing shared by the core: the state's array leaves, their ravel, norms,
names, and chunked batches."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._checks import InputError
from ._game import check_state


def split_ravel(y):
    """`(v, unravel, static)`: the inexact array leaves of `y` flattened into one vector
    (`ravel_pytree` order: "disc" first), the map from such a vector back to the array
    part, and the other leaves (`eqx.combine(unravel(v), static)` rebuilds `y`)."""
    params, static = eqx.partition(y, eqx.is_inexact_array)
    v, unravel = ravel_pytree(params)
    return v, unravel, static


def ravel_arrays(tree):
    """The inexact array leaves of `tree` as one vector (`ravel_pytree` order)."""
    return ravel_pytree(eqx.filter(tree, eqx.is_inexact_array))[0]


def map_chunks(fn, x, chunk_size=None):
    """`fn` over the rows of the array `x` in chunks of `chunk_size` rows (all rows at once
    when `None`), the last chunk padded by repeating its last row so every call has one
    shape (one compilation); returns `fn`'s outputs (an array or a tuple of arrays with a
    leading row axis) as NumPy arrays of `len(x)` rows."""
    x = np.asarray(x)
    m = x.shape[0]
    c = m if chunk_size is None else min(int(chunk_size), m)
    parts = []
    for s in range(0, m, c):
        block = x[s : s + c]
        k = block.shape[0]
        if k < c:
            block = np.concatenate([block, np.repeat(block[-1:], c - k, axis=0)])
        out = jax.device_get(fn(jnp.asarray(block)))
        parts.append(jax.tree_util.tree_map(lambda a, k=k: np.asarray(a)[:k], out))
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *parts)


def flatten(field, y, t=0.0, args=None):
    """`(f, v, unravel)` with `f(v)` the field on the flattened array leaves of `y`
    (`ravel_pytree` order: "disc" first). Checks the state and the field's output."""
    v, unravel, static = split_ravel(as_arrays(check_state(y)))
    params = unravel(v)

    def tree_field(p):
        return field(t, eqx.combine(p, static), args)

    out = jax.eval_shape(tree_field, params)
    shapes = lambda tree: jax.tree_util.tree_map(lambda a: tuple(a.shape), tree)  # noqa: E731
    if jax.tree_util.tree_structure(out) != jax.tree_util.tree_structure(params) or shapes(
        out
    ) != shapes(params):
        raise InputError(
            "field: must return the state's structure and shapes "
            f"{shapes(params)}, got {shapes(out)}"
        )

    def f(vec):
        return ravel_arrays(tree_field(unravel(vec)))

    return f, v, unravel


def tree_norm(tree):
    """Euclidean norm over every inexact array leaf of `tree`."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in leaves))


def tree_distance(y, y_star):
    return tree_norm(jax.tree_util.tree_map(lambda a, b: a - b, y, y_star))


def as_arrays(y):
    """Python and NumPy numbers in a state become JAX float arrays (other leaves kept)."""

    def conv(x):
        if isinstance(x, (bool, np.bool_)):
            return x
        if isinstance(x, (float, int, np.floating, np.integer)) or (
            isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.number)
        ):
            return jnp.asarray(x, dtype=float)
        return x

    return jax.tree_util.tree_map(conv, y)


def leaf_names(y) -> list[str]:
    """Dotted names of the array leaves of a state, e.g. `["disc.w", "gen.a"]`."""
    out = []
    for path, _ in jax.tree_util.tree_leaves_with_path(y):
        keys = [getattr(k, "key", getattr(k, "idx", getattr(k, "name", k))) for k in path]
        out.append(".".join(str(k) for k in keys))
    return out


def coordinate_names(y) -> list[str]:
    """One name per coordinate of the raveled inexact array leaves of `y` (`split_ravel`
    order): a leaf's `leaf_names` name, indexed in C order when it has several entries,
    e.g. `["disc.w", "gen.mu[0]", "gen.mu[1]"]`."""
    params = eqx.filter(y, eqx.is_inexact_array)
    out = []
    for name, leaf in zip(leaf_names(params), jax.tree_util.tree_leaves(params)):
        size = int(np.size(leaf))
        out += [name] if size == 1 else [f"{name}[{k}]" for k in range(size)]
    return out
