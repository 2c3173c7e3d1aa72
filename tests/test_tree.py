"""The shared pytree plumbing of `gdgan._tree`: split/ravel round trips and chunked maps."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdgan._tree import (
    coordinate_names,
    leaf_names,
    map_chunks,
    ravel_arrays,
    split_ravel,
    tree_norm,
)


def _state():
    return {
        "disc": {"w": jnp.arange(3.0), "tag": "relu"},
        "gen": {"a": jnp.array([[4.0, 5.0]]), "k": jnp.array(7)},
    }


def test_split_ravel_round_trip_keeps_static_and_integer_leaves():
    """`combine(unravel(v), static)` rebuilds the state; only float leaves enter `v`, in
    ravel order ("disc" first)."""
    y = _state()
    v, unravel, static = split_ravel(y)
    np.testing.assert_array_equal(v, [0.0, 1.0, 2.0, 4.0, 5.0])
    back = eqx.combine(unravel(v * 2), static)
    np.testing.assert_array_equal(back["gen"]["a"], [[8.0, 10.0]])
    assert back["disc"]["tag"] == "relu" and int(back["gen"]["k"]) == 7
    np.testing.assert_array_equal(ravel_arrays(y), v)
    assert float(tree_norm(y)) == pytest.approx(float(jnp.linalg.norm(v)))


def test_leaf_names_are_dotted_paths():
    assert leaf_names({"disc": {"w": 1.0}, "gen": {"a": 2.0}}) == ["disc.w", "gen.a"]


@pytest.mark.parametrize("chunk", [None, 1, 3, 4, 10, 100])
def test_map_chunks_equals_one_call_and_pads_to_one_shape(chunk):
    """Every chunk size gives the unchunked result (row-wise function), and every call
    sees the same number of rows (the last chunk is padded)."""
    x = np.arange(20.0).reshape(10, 2)
    shapes = []

    def fn(b):
        shapes.append(b.shape)
        return b.sum(1), b * 2

    s, d = map_chunks(fn, x, chunk)
    np.testing.assert_array_equal(s, x.sum(1))
    np.testing.assert_array_equal(d, 2 * x)
    assert len(set(shapes)) == 1
    assert shapes[0][0] == (10 if chunk is None else min(chunk, 10))


def test_map_chunks_single_array_output():
    out = map_chunks(jax.jit(lambda b: b**2), np.arange(7.0), 3)
    np.testing.assert_array_equal(out, np.arange(7.0) ** 2)


def test_coordinate_names_one_per_raveled_coordinate():
    """One name per entry of `split_ravel`'s vector, in its order; non-float leaves skipped."""
    y = _state()
    names = coordinate_names(y)
    assert names == ["disc.w[0]", "disc.w[1]", "disc.w[2]", "gen.a[0]", "gen.a[1]"]
    assert len(names) == split_ravel(y)[0].size
    assert coordinate_names({"disc": {"w": 1.0 * jnp.ones(())}, "gen": jnp.ones(1)}) == [
        "disc.w",
        "gen",
    ]
