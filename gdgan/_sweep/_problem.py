"""The problem at one grid point: what `make(params)` builds (a field or a system, by
protocol), its equilibria, base state, game and regularizers."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import numpy as np
import optax

from .._checks import InputError, InputTypeError
from .._game import check_state
from .._train import Extragradient
from .._tree import as_arrays


class Problem(eqx.Module):
    """A pytree: the field and what comes with it at one grid point (array leaves may carry
    a leading run axis)."""

    field: Any
    equilibria: tuple
    base: Any
    game: Any
    regularizers: tuple


def is_optimizer(x):
    return isinstance(x, (optax.GradientTransformation, Extragradient))


def is_system(obj) -> bool:
    """A system by protocol (e.g. `gdgan.systems.System`): not itself a field, but has
    `field(*regularizers)`, `game`, `init` and `equilibrium`."""
    return (
        not callable(obj)
        and callable(getattr(obj, "field", None))
        and all(hasattr(obj, a) for a in ("game", "init", "equilibrium"))
    )


class Spec:
    """What builds the problem at a grid point (the user's callables). Compared and hashed
    by the identity of those callables, so that it can be a static argument of a compiled
    function when the problem cannot be passed as a pytree (see `structural`)."""

    def __init__(self, make, regularizers, equilibria, y0, center, optimizer):
        self.make, self.regs, self.eqs = make, regularizers, equilibria
        self.y0, self.center = y0, center
        self.optimizer = optimizer

    def _key(self):
        return tuple(id(x) for x in (self.make, self.regs, self.eqs, self.y0, self.optimizer))

    def __eq__(self, other):
        return type(other) is Spec and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def problem(self, p) -> Problem:
        obj = self.make(dict(p))
        if is_system(obj):
            regs = tuple(self.regs(dict(p))) if self.regs is not None else ()
            field, game = obj.field(*regs), obj.game
            eqs = [obj.equilibrium] if obj.equilibrium is not None else []
            base = obj.init
        elif callable(obj):
            if self.regs is not None:
                raise InputError(
                    "regularizers: only used when `make` returns a "
                    "gdgan.systems.System; put them in the field instead"
                )
            field, game = obj, getattr(obj, "game", None)
            regs = tuple(getattr(obj, "regularizers", ()))
            eqs, base = [], None
        else:
            raise InputTypeError(
                "make: expected make(params) to return a field(t, y, args) or a "
                f"gdgan.systems.System, got {obj!r}"
            )
        if self.eqs is not None:
            eqs = list(self.eqs(dict(p)) if callable(self.eqs) else self.eqs)
        eqs = tuple(as_arrays(check_state(e, "equilibria")) for e in eqs)
        if self.y0 is not None:
            base = self.y0(dict(p)) if callable(self.y0) else self.y0
        base = None if base is None else as_arrays(base)
        return Problem(field, eqs, base, game, regs)

    def centre(self, pr, relative_to_eq):
        if self.center is not None:
            return self.center
        if relative_to_eq and pr.equilibria:
            return pr.equilibria[0]
        return pr.base

    def optimizer_for(self, p):
        return optimizer_for(self.optimizer, p)


def optimizer_for(opt, p):
    """The optax transformation at grid point `p`."""
    if opt is not None and not is_optimizer(opt) and callable(opt):
        opt = opt(dict(p))
    if opt is None and "lr" in p:
        opt = optax.sgd(p["lr"])
    if not is_optimizer(opt):
        raise InputError(
            "optimizer: discrete-time sweeps need an optax transformation, "
            "a callable params -> transformation, or an 'lr' grid "
            f"(plain SGD); got {opt!r}"
        )
    return opt


def _closes_over_tracer(obj, depth=0) -> bool:
    if depth > 3:
        return False
    if isinstance(obj, jax.core.Tracer):
        return True
    if isinstance(obj, types.FunctionType):
        cells = obj.__closure__ or ()
        return any(_closes_over_tracer(c.cell_contents, depth + 1) for c in cells)
    if isinstance(obj, (list, tuple)):
        return any(_closes_over_tracer(x, depth + 1) for x in obj)
    if isinstance(obj, Mapping):
        return any(_closes_over_tracer(x, depth + 1) for x in obj.values())
    return False


class Const:
    """A constant array leaf of a problem, hashed by value (a static part of the compiled
    program, see `structural`)."""

    def __init__(self, value):
        self.value = value
        self._hash = hash((value.dtype.str, value.shape, value.tobytes()))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return (
            type(other) is Const
            and self._hash == other._hash
            and self.value.dtype == other.value.dtype
            and np.array_equal(self.value, other.value)
        )


def unconst(tree):
    """`Const` leaves back to arrays (inside the compiled function: constants)."""
    return jax.tree_util.tree_map(
        lambda x: jax.numpy.asarray(x.value) if isinstance(x, Const) else x,
        tree,
        is_leaf=lambda x: isinstance(x, Const),
    )


def structural(spec: Spec, params, n):
    """The problems of a batch of grid points (`params`: name -> array with a leading axis),
    built once with `eqx.filter_vmap`, as one pytree whose static part is the problem's
    structure and constant leaves — or `None` when the problem keeps a grid value outside its array leaves
    (e.g. a plain Python closure over `params`), which then has to be built inside the
    compiled function (keyed on `make` itself)."""
    try:
        pr = eqx.filter_vmap(lambda p, _: spec.problem(p))(params, np.zeros(n))
    except Exception:  # noqa: BLE001 - any failure: fall back to building under jit
        return None
    if not isinstance(pr.field, eqx.Module):
        return None
    static = eqx.filter(pr, eqx.is_array, inverse=True)
    if any(_closes_over_tracer(x) for x in jax.tree_util.tree_leaves(static)):
        return None

    # leaves equal at every run (not built from the grid values) become compile-time
    # constants, as in a hand-written solve that closes over its field (XLA folds them);
    # the compile cache is then keyed on their values, not on `make`
    def leaf(a):
        if not eqx.is_array(a):
            return a
        host = np.asarray(a)
        return Const(host[0]) if np.all(host == host[:1]) else a

    return jax.tree_util.tree_map(leaf, pr)


def grid_arrays(grid):
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise InputTypeError(f"grid: expected a dict name -> 1-D array of values, got {grid!r}")
    out = {}
    for k, v in grid.items():
        if not isinstance(k, str) or not k:
            raise InputTypeError(f"grid: names must be non-empty strings, got {k!r}")
        a = np.asarray(v)
        if a.dtype == object or not np.issubdtype(a.dtype, np.number):
            raise InputTypeError(f"grid: {k!r} must be numeric values, got {v!r}")
        a = np.atleast_1d(a)
        if a.shape[0] < 1 or not np.all(np.isfinite(a)):
            raise InputError(f"grid: {k!r} must hold at least one finite value, got {v!r}")
        out[k] = a.astype(float) if np.issubdtype(a.dtype, np.integer) else a
    return out
