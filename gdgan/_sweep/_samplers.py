"""Initial states of a sweep: `box` (uniform in a box) and `lattice` (a regular grid)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from .._checks import InputError, check_int, check_number
from ._store import tree_hash


@dataclasses.dataclass(frozen=True)
class Box:
    """`n` initial states uniform in the box $[-r, r]^d$ around a centre (see `box`)."""

    radius: float
    n: int
    center: Any = None

    def offsets(self, key, d, dtype):
        return np.asarray(jax.random.uniform(key, (self.n, d), dtype, -self.radius, self.radius))

    def spec(self):
        return {"kind": "box", "radius": self.radius, "n": self.n, "center": tree_hash(self.center)}


@dataclasses.dataclass(frozen=True)
class Lattice:
    """A regular grid of `n` points per coordinate over $[-r, r]^d$ (see `lattice`)."""

    radius: float
    n: int
    center: Any = None

    def offsets(self, key, d, dtype):
        if self.n**d > 10**7:
            raise InputError(f"lattice: {self.n}^{d} points is too many; use box(radius, n)")
        axis = np.linspace(-self.radius, self.radius, self.n, dtype=dtype)
        mesh = np.meshgrid(*([axis] * d), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def spec(self):
        return {
            "kind": "lattice",
            "radius": self.radius,
            "n": self.n,
            "center": tree_hash(self.center),
        }


def box(radius, n, *, center=None) -> Box:
    r"""`n` initial states drawn uniformly from the box $\{y : |y_i - c_i| \le r\}$ around
    `center` (default: the known equilibrium of each grid point, else the base state `y0`),
    from the sweep's `seed`.

    **Arguments:** `radius` $r > 0$; `n` the number of states; `center` a state or `None`.

    **Returns:** a `Box`, passed as `gdgan.sweep(..., inits=...)`.

    ```python
    res = gdgan.sweep(lambda p: gdgan.systems.lq(loss="wgan"), inits=gdgan.box(0.5, 1000),
                      t1=50.0)
    ```
    """
    return Box(check_number(radius, "box", "radius"), check_int(n, "box", "n"), center)


def lattice(radius, n, *, center=None) -> Lattice:
    r"""A regular grid of `n` points per state coordinate over $[-r, r]^d$ around `center`
    ($n^d$ states, for basin-of-attraction maps of small systems).

    **Arguments:** `radius`, `n` (points per coordinate), `center` as in `box`.

    **Returns:** a `Lattice`.

    ```python
    res = gdgan.sweep(make, inits=gdgan.lattice(1.0, 41), t1=50.0)   # 41 x 41 for d = 2
    gdgan.plot.basins(res)
    ```
    """
    return Lattice(check_number(radius, "lattice", "radius"), check_int(n, "lattice", "n"), center)
