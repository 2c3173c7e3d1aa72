r"""Sweeps: many initial states and/or hyperparameter values at once, vmapped in chunks,
sharded over every device, written to disk chunk by chunk (`sweep`, `box`, `lattice`).

A sweep is the Cartesian product of named hyperparameter grids (any array leaf: η, γ, σ,
learning rates) and a set of initial states. Every run is an independent `gdgan.simulate`
(continuous time) or `gdgan.train` (discrete time); one diverging run never stops or
corrupts the others (solver failures are statuses, `throw=False`).

Scaling. Runs are processed in chunks of `chunk_size` (memory stays flat as the sweep
grows). Each chunk is padded to a multiple of the device count (by repeating its last run)
and sharded over `jax.devices()` with a `jax.sharding.Mesh` and `NamedSharding`; under
`jax.distributed.initialize` the mesh spans every process's devices, every process runs
the same sweep, each gets the gathered results, and process 0 alone writes files.

Two integration modes (continuous time):

- `"vmap"`: every trajectory has its own adaptive steps and stopping events — exactly
  `gdgan.simulate` under `jax.vmap`, run independently on each device (`jax.shard_map`);
- `"batch"`: the chunk is integrated as one state with one shared step size, controlled
  by the *max* norm of the per-trajectory error estimates (so each trajectory's local error
  is within the same `rtol`/`atol` as alone). Converged or diverged runs are frozen
  (their field is set to zero) and the time they stopped is integrated alongside.

`"auto"` (the default) picks `"vmap"`: it matches single `simulate` calls run by run, copes
with runs of very different time scales, and measured as fast as `"batch"` or faster on
a loaded 2-core CPU (`benchmarks/sweep.py`, 2000 runs to t = 40 at rtol 1e-8: Dirac-GAN +
penalty equal within noise; LQ WGAN + penalty, batch 1.1–1.2× slower, 241 shared steps
against at most 136 per run). `"batch"` pays when the per-step overhead of a vmapped
adaptive solver dominates and the runs need similar steps at the same times; one stiff run
forces small steps on its whole chunk, and its results depend on the chunk's members (they
agree with single runs only to the tolerance).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._analysis import Verdict, stability
from .._game import check_state
from .._simulate import Outcome, amplitude_ratio_of, as_arrays, classify, simulate
from .._train import Extragradient, discrete_stability, train

MODES = ("auto", "vmap", "batch")
OUTCOMES = list(Outcome._name_to_item)
VERDICTS = list(Verdict._name_to_item)
MANIFEST = "manifest.json"
FORMAT = 1


# -- samplers ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Box:
    """`n` initial states uniform in the box $[-r, r]^d$ around a centre (see `box`)."""

    radius: float
    n: int
    center: Any = None

    def offsets(self, key, d, dtype):
        return np.asarray(jax.random.uniform(key, (self.n, d), dtype, -self.radius, self.radius))

    def spec(self):
        return {
            "kind": "box",
            "radius": self.radius,
            "n": self.n,
            "center": _tree_hash(self.center),
        }


@dataclasses.dataclass(frozen=True)
class Lattice:
    """A regular grid of `n` points per coordinate over $[-r, r]^d$ (see `lattice`)."""

    radius: float
    n: int
    center: Any = None

    def offsets(self, key, d, dtype):
        if self.n**d > 10**7:
            raise ValueError(f"lattice: {self.n}^{d} points is too many; use box(radius, n)")
        axis = np.linspace(-self.radius, self.radius, self.n, dtype=dtype)
        mesh = np.meshgrid(*([axis] * d), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def spec(self):
        return {
            "kind": "lattice",
            "radius": self.radius,
            "n": self.n,
            "center": _tree_hash(self.center),
        }


def _check_sampler_args(owner, radius, n):
    if not (isinstance(radius, (int, float, np.number)) and math.isfinite(radius) and radius > 0):
        raise ValueError(f"{owner}: `radius` must be a positive number, got {radius!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{owner}: `n` must be a positive integer, got {n!r}")


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
    _check_sampler_args("box", radius, n)
    return Box(float(radius), int(n), center)


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
    _check_sampler_args("lattice", radius, n)
    return Lattice(float(radius), int(n), center)


# -- results -----------------------------------------------------------------------------
RUN_FIELDS = (
    "outcome",
    "y0",
    "y_final",
    "t_final",
    "steps",
    "t_converge",
    "residual",
    "distance",
    "nearest",
    "verdict",
    "max_real",
)
GRID_FIELDS = ("grid_verdict", "grid_max_real", "grid_spectral_radius", "grid_max_stable_step")


@dataclasses.dataclass
class SweepResult:
    r"""Result of `gdgan.sweep` (NumPy arrays; runs ordered grid-major, initial state last).

    Per run (leading axis `n_runs` = (grid points) × (initial states)):

    - `outcome` (`int`, `gdgan.Outcome` codes; `outcome_name` gives strings);
    - `y0`, `y_final`: flattened states `(n_runs, d)`, columns named by `leaf_names`
      (`state(i)` rebuilds run `i`'s final state as a pytree);
    - `t_final`: where the run stopped (time, or training steps); `steps`: solver steps
      (continuous) or iterations (discrete); `t_converge`: time / iteration of convergence,
      NaN unless `converged`;
    - `residual` $\|h(y_{final})\|$; `distance` to the nearest known equilibrium and its
      index `nearest` (NaN / -1 without equilibria);
    - `verdict`, `max_real`: `gdgan.stability` at the final state of converged runs
      (`Verdict` code, -1 / NaN otherwise or when the spectrum was skipped);
    - `params`: the grid value of each run, by name.

    Per grid point (`grid_*`, leading axis = number of grid points, `grid_shape`):
    `grid_verdict`, `grid_max_real`, `grid_max_stable_step` (continuous time:
    `gdgan.stability` at the equilibrium) or `grid_spectral_radius` (discrete time:
    `gdgan.discrete_stability`), NaN / -1 without an equilibrium.
    """

    grid: dict
    leaf_names: list
    n_inits: int
    config: dict
    arrays: dict
    wall_time: float = float("nan")

    def __getattr__(self, name):
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    @property
    def params(self) -> dict:
        return {k: self.arrays[f"param_{k}"] for k in self.grid}

    @property
    def grid_shape(self) -> tuple:
        return tuple(len(v) for v in self.grid.values())

    @property
    def shape(self) -> tuple:
        """`grid_shape + (n_inits,)`: reshape any per-run array with `reshape`."""
        return self.grid_shape + (self.n_inits,)

    @property
    def n_runs(self) -> int:
        return int(np.prod(self.shape))

    def reshape(self, values):
        """A per-run array reshaped to `shape + trailing` (grid axes first)."""
        values = np.asarray(values)
        return values.reshape(self.shape + values.shape[1:])

    @property
    def outcome_name(self):
        return np.asarray(OUTCOMES, dtype=object)[self.arrays["outcome"]].astype(str)

    @property
    def grid_verdict_name(self):
        v = self.arrays["grid_verdict"]
        return np.where(v >= 0, np.asarray(VERDICTS + ["n/a"])[v], "n/a")

    def state(self, i, which="y_final"):
        """Run `i`'s `"y_final"` or `"y0"` as a state pytree (inexact leaves)."""
        flat = np.asarray(self.arrays[which][i])
        out, k = {}, 0
        for name, shape in zip(self.leaf_names, self.config["leaf_shapes"]):
            size = int(np.prod(shape, dtype=int))
            node = out
            *heads, last = name.split(".")
            for h in heads:
                node = node.setdefault(h, {})
            node[last] = flat[k : k + size].reshape(shape)
            k += size
        return out

    def counts(self) -> dict:
        """Number of runs per outcome name."""
        c = np.bincount(self.arrays["outcome"], minlength=len(OUTCOMES))
        return {name: int(n) for name, n in zip(OUTCOMES, c)}

    def summary(self) -> dict:
        """A JSON-able summary: configuration, outcome counts overall and per grid point."""
        out = {
            "n_runs": self.n_runs,
            "n_inits": self.n_inits,
            "grid": {
                k: [float(x) for x in np.ravel(v)] if np.ndim(v) == 1 else np.shape(v)
                for k, v in self.grid.items()
            },
            "outcomes": self.counts(),
            "wall_time_s": self.wall_time,
            "runs_per_s": self.n_runs / self.wall_time if self.wall_time > 0 else None,
            "config": self.config,
        }
        g = int(np.prod(self.grid_shape))
        if 0 < g <= 1000 and self.grid:
            oc = self.arrays["outcome"].reshape(g, self.n_inits)
            rows = []
            for j, idx in enumerate(np.ndindex(*self.grid_shape)):
                row = {k: _jsonable(v[i]) for (k, v), i in zip(self.grid.items(), idx)}
                row["verdict"] = str(self.grid_verdict_name[j])
                for f in ("grid_max_real", "grid_spectral_radius"):
                    x = float(self.arrays[f][j])
                    row[f[5:]] = x if math.isfinite(x) else None
                cnt = np.bincount(oc[j], minlength=len(OUTCOMES))
                row["outcomes"] = {n: int(c) for n, c in zip(OUTCOMES, cnt) if c}
                rows.append(row)
            out["per_grid_point"] = rows
        return out

    def save(self, path):
        """Write every array (and the configuration) to one `.npz` file."""
        meta = {
            "grid_names": list(self.grid),
            "leaf_names": self.leaf_names,
            "n_inits": self.n_inits,
            "config": self.config,
            "wall_time": self.wall_time,
        }
        arrays = {f"grid__{k}": np.asarray(v) for k, v in self.grid.items()}
        _atomic_savez(path, meta=np.array(json.dumps(meta)), **arrays, **self.arrays)

    @classmethod
    def load(cls, path) -> SweepResult:
        """Read a file written by `save` (e.g. `DIR/results.npz`)."""
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            grid = {k: z[f"grid__{k}"] for k in meta["grid_names"]}
            arrays = {k: z[k] for k in z.files if k != "meta" and not k.startswith("grid__")}
        return cls(
            grid, meta["leaf_names"], meta["n_inits"], meta["config"], arrays, meta["wall_time"]
        )


def _json_default(x):
    try:
        return _jsonable(x)
    except Exception:  # noqa: BLE001 - anything else is described by its repr
        return repr(x)


def _jsonable(x):
    x = np.asarray(x)
    return x.item() if x.size == 1 else x.tolist()


def _tree_hash(tree):
    if tree is None:
        return None
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        h.update(jax.tree_util.keystr(path).encode())
        if eqx.is_array_like(leaf):
            a = np.ascontiguousarray(np.asarray(leaf))
            h.update(str((a.dtype, a.shape)).encode())
            h.update(a.tobytes())
        else:
            h.update(repr(leaf).encode())
    return h.hexdigest()[:16]


def _atomic_savez(path, **arrays):
    tmp = f"{path}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _atomic_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


# -- the problem at one grid point --------------------------------------------------------
class _Problem:
    __slots__ = ("field", "equilibria", "base", "game", "regularizers")

    def __init__(self, field, equilibria, base, game, regularizers):
        self.field, self.equilibria, self.base = field, equilibria, base
        self.game, self.regularizers = game, regularizers


def _is_optimizer(x):
    return isinstance(x, (optax.GradientTransformation, Extragradient))


def _is_system(obj) -> bool:
    """A system by protocol (e.g. `gdgan.systems.System`): not itself a field, but has
    `field(*regularizers)`, `game`, `init` and `equilibrium`."""
    return (
        not callable(obj)
        and callable(getattr(obj, "field", None))
        and all(hasattr(obj, a) for a in ("game", "init", "equilibrium"))
    )


class _Spec:
    """Everything static about a sweep; builds the per-run functions."""

    def __init__(self, make, regularizers, equilibria, y0, center, optimizer):
        self.make, self.regs, self.eqs = make, regularizers, equilibria
        self.y0, self.center = y0, center
        self.optimizer = optimizer

    def problem(self, p) -> _Problem:
        obj = self.make(dict(p))
        if _is_system(obj):
            regs = tuple(self.regs(dict(p))) if self.regs is not None else ()
            field, game = obj.field(*regs), obj.game
            eqs = [obj.equilibrium] if obj.equilibrium is not None else []
            base = obj.init
        elif callable(obj):
            if self.regs is not None:
                raise ValueError(
                    "regularizers: only used when `make` returns a "
                    "gdgan.systems.System; put them in the field instead"
                )
            field, game = obj, getattr(obj, "game", None)
            regs = tuple(getattr(obj, "regularizers", ()))
            eqs, base = [], None
        else:
            raise TypeError(
                "make: expected make(params) to return a field(t, y, args) or a "
                f"gdgan.systems.System, got {obj!r}"
            )
        if self.eqs is not None:
            eqs = list(self.eqs(dict(p)) if callable(self.eqs) else self.eqs)
        eqs = [as_arrays(check_state(e, "equilibria")) for e in eqs]
        if self.y0 is not None:
            base = self.y0(dict(p)) if callable(self.y0) else self.y0
        return _Problem(field, eqs, base, game, regs)

    def centre(self, pr, relative_to_eq):
        if self.center is not None:
            return self.center
        if relative_to_eq and pr.equilibria:
            return pr.equilibria[0]
        return pr.base

    def optimizer_for(self, p):
        opt = self.optimizer
        if opt is not None and not _is_optimizer(opt) and callable(opt):
            opt = opt(dict(p))
        if opt is None and "lr" in p:
            opt = optax.sgd(p["lr"])
        if not _is_optimizer(opt):
            raise ValueError(
                "optimizer: discrete-time sweeps need an optax transformation, "
                "a callable params -> transformation, or an 'lr' grid "
                f"(plain SGD); got {opt!r}"
            )
        return opt


def _grid_arrays(grid):
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid: expected a dict name -> 1-D array of values, got {grid!r}")
    out = {}
    for k, v in grid.items():
        if not isinstance(k, str) or not k:
            raise TypeError(f"grid: names must be non-empty strings, got {k!r}")
        a = np.asarray(v)
        if a.dtype == object or not np.issubdtype(a.dtype, np.number):
            raise TypeError(f"grid: {k!r} must be numeric values, got {v!r}")
        a = np.atleast_1d(a)
        if a.shape[0] < 1 or not np.all(np.isfinite(a)):
            raise ValueError(f"grid: {k!r} must hold at least one finite value, got {v!r}")
        out[k] = a.astype(float) if np.issubdtype(a.dtype, np.integer) else a
    return out


_CACHE: dict = {}


@eqx.filter_jit
def _field_once(field, y):
    out = eqx.filter(field(0.0, y, None), eqx.is_inexact_array)
    return ravel_pytree(out)[0]


def _key_of(x):
    """A hashable stand-in for a static argument: the object itself when hashable, else a
    hash of its contents."""
    if x is None:
        return None
    try:
        hash(x)
        return ("obj", x)
    except TypeError:
        return ("tree", _tree_hash(x))


def _max_norm(tree):
    """Max-abs norm over the first leaf (the states); the frozen-time leaf is not controlled."""
    return jnp.max(jnp.abs(tree[0]))


# -- the sweep ----------------------------------------------------------------------------
def sweep(
    make,
    grid=None,
    *,
    inits=None,
    y0=None,
    regularizers=None,
    equilibria=None,
    t1=None,
    steps=None,
    optimizer=None,
    order="simultaneous",
    disc_steps=1,
    mode="auto",
    chunk_size=4096,
    seed=0,
    rtol=None,
    atol=None,
    solver=None,
    max_steps=100_000,
    converge_tol=1e-8,
    diverge_norm=1e6,
    cycle_rtol=0.1,
    n_check=101,
    spectrum="auto",
    spectrum_tol=1e-9,
    out=None,
    resume=False,
    tag=None,
    progress=False,
    callback=None,
    devices=None,
) -> SweepResult:
    r"""Run many trajectories — a grid of hyperparameters × a set of initial states — and
    report what each did. Continuous time (`t1`, `gdgan.simulate`) or discrete time
    (`steps`, `gdgan.train`).

    The runs are the Cartesian product of the named `grid` values (grid-major, in the
    order given) and the initial states, processed in chunks of `chunk_size`, each chunk
    vmapped and sharded over every device (see the module docstring and the README's
    "Sweeps" section for multi-host use). A diverging run stops only itself.

    **Arguments:**

    - `make(params) -> field | System`: builds the problem at one grid point; `params` is a
      dict name -> value (traced: use the values as array leaves, e.g.
      `lambda p: gdgan.systems.lq(sigma=p["sigma"], loss="wgan")`). A returned
      `gdgan.systems.System` supplies the equilibrium, the default initial state and the
      game; `regularizers(params) -> [regularizer, ...]` is then applied to it.
    - `grid`: dict name -> 1-D values (any number of names, possibly none).
    - `inits`: `None` (one run per grid point from `y0`), a batched state (leading axis),
      or a sampler `gdgan.box(radius, n)` / `gdgan.lattice(radius, n)` around the
      equilibrium (else around `y0`).
    - `y0`: the base state (or `params -> state`); default the system's `init`.
    - `equilibria`: known equilibria (a list of states, or `params -> list`), for the
      distance to the nearest one and the verdict; default the system's equilibrium. The
      first one is the outcome's reference point (`y_star` of `simulate`).
    - `t1` (continuous time) or `steps` (discrete time; with `optimizer`: an optax
      transformation, or `params -> transformation`, default `optax.sgd(params["lr"])`;
      `order`, `disc_steps` as in `gdgan.train`).
    - `mode`: `"auto"`, `"vmap"` (per-trajectory steps) or `"batch"` (one shared step per
      chunk); see the module docstring. Discrete time ignores it.
    - `chunk_size`: runs per chunk (memory bound); `seed`: for samplers (same seed →
      identical results).
    - `rtol`, `atol`, `solver`, `max_steps`, `converge_tol`, `diverge_norm`, `cycle_rtol`,
      `n_check`: as in `gdgan.simulate` (`n_check` monitor points per run for the
      cycling test; fewer than `simulate`'s default because, under `vmap`, interpolating
      the monitor dominated the cost: 401 points tripled the time of a sweep).
    - `spectrum`: `"auto"` (when the state has at most 16 coordinates), `True` or `False`:
      the eigenvalue verdict at each converged run's final state.
    - `out`: a directory; each finished chunk is written at once (`chunk-NNNNN.npz`) with a
      `manifest.json` holding the configuration, then `results.npz` and `summary.json`.
      `resume=True` skips the finished chunks of a directory with the same configuration
      and refuses one with a different configuration. `tag`: JSON-able user description
      stored in (and compared with) the manifest.
    - `progress`: a tqdm bar on stderr (chunks, runs/s, ETA); `callback(info)`: called after
      each finished chunk with a dict (`chunk`, `n_chunks`, `runs_done`, `n_runs`,
      `result`); `devices`: the devices to shard over (default `jax.devices()`).

    **Returns:** a `SweepResult`.

    ```python
    res = gdgan.sweep(lambda p: gdgan.systems.lq(loss="wgan"),
                      {"eta": jnp.linspace(0.0, 1.0, 11)},
                      regularizers=lambda p: [gdgan.GradientPenalty(p["eta"])],
                      inits=gdgan.box(0.5, 1000), t1=50.0)
    res.counts()               # {"converged": 10000, "cycling": 1000, ...}
    res.grid_verdict_name      # ["marginal", "stable", ..., "stable"]
    ```
    """
    start_time = time.perf_counter()
    if not callable(make):
        raise TypeError(f"make: expected a callable make(params) -> field or System, got {make!r}")
    grid = _grid_arrays(grid)
    if (t1 is None) == (steps is None):
        raise ValueError(
            "sweep: pass exactly one of `t1` (continuous time) or `steps` "
            f"(discrete time), got t1={t1!r}, steps={steps!r}"
        )
    discrete = steps is not None
    if discrete:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    else:
        if not (isinstance(t1, (int, float, np.number)) and math.isfinite(t1) and t1 > 0):
            raise ValueError(f"t1: expected a positive number, got {t1!r}")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {list(MODES)}, got {mode!r}")
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    if spectrum not in ("auto", True, False):
        raise ValueError(f"spectrum: expected 'auto', True or False, got {spectrum!r}")
    if regularizers is not None and not callable(regularizers):
        raise TypeError(
            f"regularizers: expected a callable params -> [regularizer, ...], got {regularizers!r}"
        )
    if resume and out is None:
        raise ValueError("resume: needs `out`, the directory of the sweep to resume")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable, got {callback!r}")
    sampler = inits if isinstance(inits, (Box, Lattice)) else None
    spec = _Spec(
        make, regularizers, equilibria, y0, None if sampler is None else sampler.center, optimizer
    )
    if discrete:
        mode_used = "vmap"
    else:
        mode_used = "vmap" if mode == "auto" else mode

    # -- eager checks at the first value of every axis (one-line errors from the builders)
    names = list(grid)
    first = {k: v[0] for k, v in grid.items()}
    probe_points = [first] + [
        {**first, k: v[i]} for k, v in grid.items() for i in sorted({len(v) // 2, len(v) - 1} - {0})
    ]
    for p in probe_points:
        spec.problem({k: jnp.asarray(x) for k, x in p.items()})  # bad values fail here, early
    pr0 = spec.problem({k: jnp.asarray(x) for k, x in first.items()})
    if discrete and pr0.game is None:
        raise TypeError(
            "make: discrete-time sweeps need a gdgan.vector_field(game, ...) or a "
            "gdgan.systems.System, got a plain callable field"
        )
    if discrete:
        spec.optimizer_for({k: jnp.asarray(x) for k, x in first.items()})

    # -- initial states as flat vectors
    if sampler is not None:
        template = spec.centre(pr0, True)
        if template is None:
            raise ValueError(
                "inits: a sampler needs a centre: pass y0=, equilibria= or "
                "center=, or let make return a System"
            )
    elif inits is not None:
        template = jax.tree_util.tree_map(lambda a: a[0], as_arrays(check_state(inits, "inits")))
    else:
        template = pr0.base
        if template is None:
            raise ValueError(
                "y0: required when `make` returns a plain field and no `inits` are given"
            )
    template = as_arrays(check_state(template, "y0"))
    tparams, tstatic = eqx.partition(template, eqx.is_inexact_array)
    vflat, unravel = ravel_pytree(tparams)
    d, dtype = int(vflat.size), vflat.dtype
    leaf_paths = jax.tree_util.tree_leaves_with_path(tparams)
    leaf_names = [
        ".".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        for path, _ in leaf_paths
    ]
    leaf_shapes = [list(np.shape(x)) for _, x in leaf_paths]

    def to_state(v):
        return eqx.combine(unravel(v), tstatic)

    def flat(y):
        return ravel_pytree(eqx.filter(y, eqx.is_inexact_array))[0].astype(dtype)

    relative = sampler is not None
    if sampler is not None:
        V = sampler.offsets(jax.random.PRNGKey(seed), d, dtype)
        init_spec = {**sampler.spec(), "seed": int(seed)}
    elif inits is not None:
        leaves = jax.tree_util.tree_leaves(eqx.filter(as_arrays(inits), eqx.is_inexact_array))
        n0 = np.shape(leaves[0])[0] if leaves else 0
        if any(np.ndim(x) < 1 or np.shape(x)[0] != n0 for x in leaves):
            raise ValueError("inits: every leaf needs the same leading (batch) axis")
        V = np.concatenate([np.asarray(x, dtype).reshape(n0, -1) for x in leaves], axis=1)
        if not np.all(np.isfinite(V)):
            raise ValueError("inits: must be finite, got NaN/inf")
        init_spec = {"kind": "states", "n": int(V.shape[0]), "hash": _tree_hash(V)}
    else:
        V = np.zeros((1, d), dtype)
        init_spec = {"kind": "y0"}
        relative = True
    n_inits = int(V.shape[0])
    grid_shape = tuple(len(v) for v in grid.values())
    n_grid = int(np.prod(grid_shape, dtype=np.int64))
    n_runs = n_grid * n_inits
    n_chunks = -(-n_runs // chunk_size)
    do_spectrum = (d <= 16) if spectrum == "auto" else bool(spectrum)

    # -- configuration (the manifest) and a numerical fingerprint of the problem
    y_first = to_state(flat(spec.centre(pr0, True) if relative else template) + V[0])
    h_first = np.asarray(_field_once(pr0.field, y_first))
    config = {
        "format": FORMAT,
        "time": "discrete" if discrete else "continuous",
        "grid": {k: np.asarray(v).tolist() for k, v in grid.items()},
        "inits": init_spec,
        "n_runs": n_runs,
        "chunk_size": int(chunk_size),
        "mode": mode_used,
        "leaf_names": leaf_names,
        "leaf_shapes": leaf_shapes,
        "dtype": str(np.dtype(dtype)),
        "converge_tol": float(converge_tol),
        "diverge_norm": float(diverge_norm),
        "cycle_rtol": float(cycle_rtol),
        "fingerprint": _tree_hash({"h": h_first, "eq": [flat(e) for e in pr0.equilibria]}),
        "spectrum": do_spectrum,
        "tag": tag,
    }
    if discrete:
        config.update(
            steps=int(steps),
            order=order,
            disc_steps=int(disc_steps),
            optimizer=None if optimizer is None else type(optimizer).__name__,
        )
    else:
        config.update(
            t1=float(t1),
            rtol=None if rtol is None else float(rtol),
            atol=None if atol is None else float(atol),
            max_steps=int(max_steps),
            n_check=int(n_check),
            solver=type(solver).__name__ if solver else "Tsit5",
        )
    config = json.loads(json.dumps(config, default=_json_default))

    # -- devices and the mesh
    devices = list(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    mesh = Mesh(np.asarray(devices), ("runs",))
    sharding = NamedSharding(mesh, P("runs"))
    padded = -(-min(chunk_size, n_runs) // n_dev) * n_dev
    writer = jax.process_index() == 0

    # -- the output directory
    done = np.zeros(n_chunks, bool)
    if out is not None:
        done = _prepare_dir(out, config, n_chunks, resume, writer)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            done = np.asarray(multihost_utils.broadcast_one_to_all(done))

    # -- per-run functions (compiled once per static configuration, see `_CACHE`) --------
    eq_count = len(pr0.equilibria)
    do_spectrum_grid = d <= 256 if spectrum == "auto" else bool(spectrum)
    cache_key = (
        make,
        regularizers,
        _key_of(equilibria),
        _key_of(y0),
        _key_of(spec.center),
        _key_of(optimizer),
        discrete,
        steps,
        t1,
        order,
        disc_steps,
        mode_used,
        rtol,
        atol,
        _key_of(solver),
        max_steps,
        converge_tol,
        diverge_norm,
        cycle_rtol,
        n_check,
        do_spectrum,
        do_spectrum_grid,
        spectrum_tol,
        relative,
        tuple(names),
        str(jax.tree_util.tree_structure(tparams)),
        tuple(map(tuple, leaf_shapes)),
        str(dtype),
        _tree_hash(tstatic),
        tuple(devices),
        padded,
        min(chunk_size, n_grid),
        jax.config.jax_enable_x64,
    )
    cached = _CACHE.get(cache_key)

    def setup(p, v):
        pr = spec.problem(p)
        if len(pr.equilibria) != eq_count:
            raise ValueError("equilibria: must have the same number at every grid point")
        y0_ = to_state(flat(spec.centre(pr, True)) + v) if relative else to_state(v)
        return pr, y0_

    def post(pr, v_final):
        """residual, distance, nearest, verdict, max_real at a final state."""
        finite = jnp.all(jnp.isfinite(v_final))
        v_safe = jnp.where(finite, v_final, 0.0)
        y = to_state(v_safe)
        residual = jnp.where(finite, jnp.linalg.norm(flat(pr.field(0.0, y, None))), jnp.nan)
        if pr.equilibria:
            dist = jnp.stack([jnp.linalg.norm(v_final - flat(e)) for e in pr.equilibria])
            dist = jnp.where(jnp.isfinite(dist), dist, jnp.inf)
            nearest = jnp.argmin(dist).astype(jnp.int32)
            distance = jnp.where(finite, jnp.min(dist), jnp.nan)
            nearest = jnp.where(finite, nearest, -1)
        else:
            distance, nearest = jnp.asarray(jnp.nan, dtype), jnp.asarray(-1, jnp.int32)
        if do_spectrum:
            rep = stability(pr.field, y, tol=spectrum_tol)
            verdict, max_real = rep.verdict._value.astype(jnp.int32), rep.max_real
        else:
            verdict, max_real = jnp.asarray(-1, jnp.int32), jnp.asarray(jnp.nan, dtype)
        return residual, distance, nearest, verdict, max_real

    def finish(pr, outcome, v0, v_final, t_final, n_steps, t_conv):
        residual, distance, nearest, verdict, max_real = post(pr, v_final)
        conv = outcome == Outcome.converged._value
        return {
            "outcome": outcome.astype(jnp.int32),
            "y0": v0,
            "y_final": v_final,
            "t_final": jnp.asarray(t_final, dtype),
            "steps": jnp.asarray(n_steps).astype(jnp.int32),
            "t_converge": jnp.where(conv, jnp.asarray(t_conv, dtype), jnp.nan),
            "residual": residual,
            "distance": distance,
            "nearest": nearest,
            "verdict": jnp.where(conv, verdict, -1),
            "max_real": jnp.where(conv, max_real, jnp.nan),
        }

    def y_star_of(pr):
        return pr.equilibria[0] if pr.equilibria else None

    def run_simulate(p, v):
        pr, y0_ = setup(p, v)
        res = simulate(
            pr.field,
            y0_,
            float(t1),
            saveat=diffrax.SaveAt(t1=True),
            throw=False,
            y_star=y_star_of(pr),
            rtol=rtol,
            atol=atol,
            solver=solver,
            max_steps=max_steps,
            converge_tol=converge_tol,
            diverge_norm=diverge_norm,
            cycle_rtol=cycle_rtol,
            n_check=n_check,
            adjoint=diffrax.ForwardMode(),
        )
        vf = flat(res.y_final)
        return finish(pr, res.outcome._value, flat(y0_), vf, res.t_final, res.steps, res.t_final)

    def run_train(p, v):
        pr, y0_ = setup(p, v)
        res = train(
            pr.game,
            y0_,
            spec.optimizer_for(p),
            int(steps),
            order=order,
            disc_steps=disc_steps,
            regularizers=pr.regularizers,
            stride=max(1, int(steps) // 256),
            y_star=y_star_of(pr),
            converge_tol=converge_tol,
            diverge_norm=diverge_norm,
            cycle_rtol=cycle_rtol,
        )
        r = jnp.sqrt(res.grad_norm_disc**2 + res.grad_norm_gen**2)
        below = r < converge_tol
        t_conv = jnp.where(jnp.any(below), jnp.argmax(below), jnp.nan)
        return finish(
            pr, res.outcome._value, flat(y0_), flat(res.y_final), int(steps), int(steps), t_conv
        )

    def run_batch(Pb, Vb):
        """The chunk as one state with one shared step (see the module docstring)."""
        prs_y0 = jax.vmap(lambda p, v: flat(setup(p, v)[1]))(Pb, Vb)

        def h_one(p, v):
            pr = spec.problem(p)
            return flat(pr.field(0.0, to_state(v), None))

        def star_one(p, v):
            pr = spec.problem(p)
            return flat(pr.equilibria[0]) if pr.equilibria else jnp.zeros_like(v)

        Ystar = jax.vmap(star_one)(Pb, Vb)
        ctol = jnp.asarray(converge_tol, dtype)
        bound = jnp.asarray(diverge_norm, dtype)

        def rhs(t, y, args):
            Y, _ = y
            H = jax.vmap(h_one)(Pb, Y)
            r = jnp.linalg.norm(H, axis=1)
            nrm = jnp.linalg.norm(Y, axis=1)
            active = (r >= ctol) & jnp.isfinite(nrm) & (nrm <= bound) & jnp.isfinite(r)
            return jnp.where(active[:, None], H, 0.0), active.astype(dtype)

        def monitor(t, y, args):
            Y, _ = y
            if eq_count:
                return jnp.linalg.norm(Y - Ystar, axis=1)
            return jnp.linalg.norm(jax.vmap(h_one)(Pb, Y), axis=1)

        default_tol = 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5
        controller = diffrax.PIDController(
            rtol=default_tol if rtol is None else rtol,
            atol=default_tol if atol is None else atol,
            norm=_max_norm,
        )
        t0_, t1_ = jnp.asarray(0.0, dtype), jnp.asarray(t1, dtype)
        saveat = diffrax.SaveAt(
            subs=(
                diffrax.SubSaveAt(t1=True),
                diffrax.SubSaveAt(ts=jnp.linspace(t0_, t1_, n_check), fn=monitor),
            )
        )
        y0b = (prs_y0, jnp.zeros((prs_y0.shape[0],), dtype))
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(rhs),
            solver or diffrax.Tsit5(),
            t0_,
            t1_,
            None,
            y0b,
            None,
            saveat=saveat,
            stepsize_controller=controller,
            max_steps=max_steps,
            throw=False,
            adjoint=diffrax.ForwardMode(),
        )
        (Yf, tau), r_mon = sol.ys
        Yf, tau = Yf[-1], tau[-1]
        mon_ts = sol.ts[1]
        hit_max = sol.result == diffrax.RESULTS.max_steps_reached
        ok = sol.result == diffrax.RESULTS.successful
        Hf = jax.vmap(h_one)(Pb, jnp.where(jnp.isfinite(Yf), Yf, 0.0))
        rf = jnp.linalg.norm(Hf, axis=1)
        nf = jnp.linalg.norm(Yf, axis=1)
        diverged = ~jnp.isfinite(nf) | (nf > bound) | (~ok & ~hit_max)
        ratio = jax.vmap(lambda r: amplitude_ratio_of(mon_ts, r, t0_, t1_), in_axes=1)(r_mon)
        outcome = jax.vmap(
            lambda c, dv, a: (
                classify(
                    converged=c,
                    diverged=dv,
                    max_steps=hit_max & ~c & ~dv,
                    amplitude_ratio=a,
                    cycle_rtol=cycle_rtol,
                )._value
            )
        )(rf < ctol, diverged, ratio)
        n_steps = jnp.broadcast_to(sol.stats["num_accepted_steps"], outcome.shape)
        t_final = jnp.where(
            outcome == Outcome.converged._value,
            tau,
            jnp.where(diverged, tau, jnp.where(hit_max, jnp.nan, t1_)),
        )
        return jax.vmap(
            lambda p, o, v0, vf, tf, ns: finish(spec.problem(p), o, v0, vf, tf, ns, tf)
        )(Pb, outcome, prs_y0, Yf, t_final, n_steps)

    if discrete:
        body = jax.shard_map(
            jax.vmap(run_train), mesh=mesh, in_specs=P("runs"), out_specs=P("runs"), check_vma=False
        )
    elif mode_used == "vmap":
        body = jax.shard_map(
            jax.vmap(run_simulate),
            mesh=mesh,
            in_specs=P("runs"),
            out_specs=P("runs"),
            check_vma=False,
        )
    else:
        body = run_batch

    # -- grid-point spectra (at the equilibrium), computed once ---------------------------
    grid_values = [dict(zip(names, idx)) for idx in np.ndindex(*grid_shape)] if names else [{}]

    def grid_point_params(js):
        return {k: np.stack([grid[k][g[k]] for g in (grid_values[j] for j in js)]) for k in names}

    def grid_spectrum(p):
        pr = spec.problem(p)
        nan = jnp.asarray(jnp.nan, dtype)
        if not pr.equilibria or not do_spectrum_grid:
            return jnp.asarray(-1, jnp.int32), nan, nan, nan
        if discrete:
            rep = discrete_stability(
                pr.field,
                pr.equilibria[0],
                spec.optimizer_for(p),
                order=order,
                disc_steps=disc_steps,
                tol=spectrum_tol,
            )
            return rep.verdict._value.astype(jnp.int32), nan, rep.spectral_radius, nan
        rep = stability(pr.field, pr.equilibria[0], tol=spectrum_tol)
        return (
            rep.verdict._value.astype(jnp.int32),
            rep.max_real,
            nan,
            jnp.asarray(rep.max_stable_step, dtype),
        )

    if cached is None:
        chunk_fn = jax.jit(body, in_shardings=(sharding, sharding), out_shardings=sharding)
        if names:
            gfn = jax.jit(jax.vmap(grid_spectrum))
        else:
            gfn = jax.jit(lambda p: tuple(x[None] for x in grid_spectrum(p)))
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[cache_key] = cached = (chunk_fn, gfn)
    chunk_fn, gfn = cached
    grid_file = None if out is None else os.path.join(out, "grid.npz")
    if grid_file is not None and resume and os.path.exists(grid_file):
        with np.load(grid_file) as z:
            grid_arrays = {k: z[k] for k in GRID_FIELDS}
    else:
        parts = []
        for s in range(0, n_grid, chunk_size):
            js = list(range(s, min(n_grid, s + chunk_size)))
            js_pad = js + [js[-1]] * (min(chunk_size, n_grid) - len(js))
            gp = {k: jnp.asarray(v) for k, v in grid_point_params(js_pad).items()}
            parts.append([np.asarray(x)[: len(js)] for x in gfn(gp)])
        grid_arrays = {
            k: np.concatenate([pt[i] for pt in parts]) for i, k in enumerate(GRID_FIELDS)
        }
        if grid_file is not None and writer:
            _atomic_savez(grid_file, **grid_arrays)

    # -- the chunks ------------------------------------------------------------------------
    def chunk_inputs(c):
        lo, hi = c * chunk_size, min(n_runs, (c + 1) * chunk_size)
        runs = np.arange(lo, hi)
        runs = np.concatenate([runs, np.full(padded - len(runs), runs[-1])])
        g, i = np.divmod(runs, n_inits)
        params = {k: np.stack([grid[k][grid_values[j][k]] for j in g]) for k in names}
        return params, V[i], hi - lo

    def to_global(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    def gather(x):
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=n_chunks,
            initial=int(done.sum()),
            unit="chunk",
            file=sys.stderr,
            desc="sweep",
            dynamic_ncols=True,
        )
    results: list = [None] * n_chunks
    t_run = time.perf_counter()
    runs_done_now = 0
    try:
        for c in range(n_chunks):
            path = None if out is None else os.path.join(out, f"chunk-{c:05d}.npz")
            if done[c]:
                with np.load(path) as z:
                    results[c] = {k: z[k] for k in z.files}
                continue
            params, Vc, n_real = chunk_inputs(c)
            res = chunk_fn({k: to_global(v) for k, v in params.items()}, to_global(Vc))
            res = {k: gather(v)[:n_real] for k, v in res.items()}
            res.update({f"param_{k}": v[:n_real] for k, v in params.items()})
            results[c] = res
            if path is not None and writer:
                _atomic_savez(path, **res)
            runs_done_now += n_real
            if bar is not None:
                rate = runs_done_now / max(time.perf_counter() - t_run, 1e-9)
                bar.set_postfix_str(f"{rate:,.0f} runs/s")
                bar.update(1)
            if callback is not None:
                callback(
                    {
                        "chunk": c,
                        "n_chunks": n_chunks,
                        "runs_done": min(n_runs, (c + 1) * chunk_size),
                        "n_runs": n_runs,
                        "result": res,
                    }
                )
    finally:
        if bar is not None:
            bar.close()

    arrays = {k: np.concatenate([r[k] for r in results]) for k in results[0]}
    for k in names:
        arrays.setdefault(f"param_{k}", np.zeros((n_runs,)))
    arrays.update(grid_arrays)
    result = SweepResult(
        grid, leaf_names, n_inits, config, arrays, time.perf_counter() - start_time
    )
    if out is not None and writer:
        result.save(os.path.join(out, "results.npz"))
        _atomic_json(os.path.join(out, "summary.json"), result.summary())
    return result


def _prepare_dir(out, config, n_chunks, resume, writer):
    """Create or check `out`; return which chunks are already finished."""
    path = os.path.join(out, MANIFEST)
    done = np.zeros(n_chunks, bool)
    if os.path.exists(path):
        if not resume:
            raise ValueError(
                f"out: {out!r} already holds a sweep; pass resume=True "
                "(--resume) to continue it, or choose another directory"
            )
        with open(path) as fh:
            old = json.load(fh).get("config", {})
        diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
        if diff:
            raise ValueError(
                f"resume: {out!r} holds a sweep with a different configuration "
                f"(differs in: {', '.join(diff)}); use another directory"
            )
        for c in range(n_chunks):
            done[c] = os.path.exists(os.path.join(out, f"chunk-{c:05d}.npz"))
        return done
    if writer:
        os.makedirs(out, exist_ok=True)
        _atomic_json(path, {"gdgan_sweep": FORMAT, "n_chunks": n_chunks, "config": config})
    return done
