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
  `gdgan.simulate(..., saveat=diffrax.SaveAt(t1=True))` under `jax.vmap`, run
  independently on each device (`jax.shard_map`); results do not depend on the chunk size
  or the device count;
- `"batch"`: the chunk is integrated as one state with one shared step size, controlled
  by the largest per-trajectory RMS error (so each trajectory's local error is within the
  same `rtol`/`atol` as alone). Converged or diverged runs are frozen (their derivative is
  masked to zero), and the time each stopped and its amplitude integral are carried as
  extra components (no saves besides the end point and four window times).

`"auto"` (the default) picks `"vmap"` (see `auto_mode` for the measurements). One stiff run
forces small steps on its whole chunk in `"batch"` mode, whose results depend on the
chunk's members (they agree with single runs only to the tolerance).

Compilation. The problem `make` builds is passed to the compiled chunk as a pytree (built
once per chunk with `eqx.filter_vmap`): its structure, its constant leaves and the static
options key the cache of the module-level `eqx.filter_jit` in `_runners`, so a fresh `make`
lambda that builds the same problem does not recompile. A `make` whose field is a plain
closure over the grid values (not an `equinox.Module`) is traced inside the compiled
function instead, and then keyed on `make` itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import InputError, InputTypeError
from .._game import check_state
from .._tree import as_arrays, ravel_arrays
from .._tree import leaf_names as _leaf_names
from ._problem import Spec, grid_arrays, structural
from ._result import GRID_FIELDS, SweepResult
from ._runners import Options, run_chunk, run_grid
from ._samplers import Box, Lattice
from ._store import Store, check_writable, fault_point, tree_hash

MODES = ("auto", "vmap", "batch")
FORMAT = 2


def auto_mode(n_grid, chunk_runs) -> str:
    """The mode `"auto"` picks: `"vmap"`. Measured (benchmarks/README.md, 10 000 runs, idle
    2-core CPU): the shared step is 1.27x faster on the penalised Dirac-GAN, whose runs
    share one time scale, and 0.68x on the penalised LQ WGAN, where a shared step that
    keeps *every* run's local error within `rtol`/`atol` (the max over runs of each run's
    RMS error) takes 1.8x the steps of the average-error one and a chunk cannot stop
    before its slowest run. Nothing cheap tells the two apart before the run, and vmap's
    worst case is the milder; `"batch"` is there for runs known to share a time scale."""
    del n_grid, chunk_runs
    return "vmap"


@eqx.filter_jit
def _field_once(field, y):
    """The field at one state, flattened (the manifest's fingerprint; compiled once per
    problem structure, as eager evaluation of a penalised field costs ~0.1 s a call)."""
    return ravel_arrays(field(0.0, y, None))


def _json_default(x):
    try:
        x = np.asarray(x)
        return x.item() if x.size == 1 else x.tolist()
    except Exception:  # noqa: BLE001 - anything else is described by its repr
        return repr(x)


def _broadcast(x):
    """Process 0's value of a NumPy array on every process."""
    if jax.process_count() == 1:
        return x
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(x))


def _gather(x):
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


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
    vmapped and sharded over every device (see the module docstring and the docs' how-to
    "Sweeps at scale" for multi-host use). A diverging run stops only itself.

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
      `n_check`: as in `gdgan.simulate` (the cycling test uses the amplitude carried
      through the solve; `n_check` only matters with a conserved quantity, which sweeps do
      not use; kept for compatibility and in the manifest).
    - `spectrum`: `"auto"` (when the state has at most 16 coordinates), `True` or `False`:
      the eigenvalue verdict at each converged run's final state.
    - `out`: a directory; each finished chunk is written at once (`chunk-NNNNN.npz`) with a
      `manifest.json` holding the configuration and each chunk's SHA-256, then
      `results.npz` and `summary.json`; a killed sweep resumes to bitwise the same results,
      and a missing, truncated or corrupted chunk is reported and recomputed.
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
        raise InputTypeError(
            f"make: expected a callable make(params) -> field or System, got {make!r}"
        )
    grid = grid_arrays(grid)
    if (t1 is None) == (steps is None):
        raise InputError(
            "sweep: pass exactly one of `t1` (continuous time) or `steps` "
            f"(discrete time), got t1={t1!r}, steps={steps!r}"
        )
    discrete = steps is not None
    if discrete:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise InputError(f"steps: expected a positive integer, got {steps!r}")
    elif not (isinstance(t1, (int, float, np.number)) and math.isfinite(t1) and t1 > 0):
        raise InputError(f"t1: expected a positive number, got {t1!r}")
    if mode not in MODES:
        raise InputError(f"mode: expected one of {list(MODES)}, got {mode!r}")
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise InputError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    if spectrum not in ("auto", True, False):
        raise InputError(f"spectrum: expected 'auto', True or False, got {spectrum!r}")
    if regularizers is not None and not callable(regularizers):
        raise InputTypeError(
            f"regularizers: expected a callable params -> [regularizer, ...], got {regularizers!r}"
        )
    if resume and out is None:
        raise InputError("resume: needs `out`, the directory of the sweep to resume")
    if callback is not None and not callable(callback):
        raise InputTypeError(f"callback: expected a callable, got {callback!r}")
    writer = jax.process_index() == 0
    if out is not None:
        out = str(out)
        ok = np.array(True)
        if writer:  # before any compute; process 0 alone creates the directory
            try:
                check_writable(out)
            except InputError:
                _broadcast(np.array(False))
                raise
        if not bool(_broadcast(ok)):
            raise InputError(f"out: expected a writable directory, got {out!r} (on process 0)")
    sampler = inits if isinstance(inits, (Box, Lattice)) else None
    spec = Spec(
        make, regularizers, equilibria, y0, None if sampler is None else sampler.center, optimizer
    )

    # -- eager checks at the first, middle and last value of every axis (one-line errors)
    names = list(grid)
    first = {k: v[0] for k, v in grid.items()}
    probe_points = [first] + [
        {**first, k: v[i]} for k, v in grid.items() for i in sorted({len(v) // 2, len(v) - 1} - {0})
    ]
    for p in probe_points[1:]:
        spec.problem({k: jnp.asarray(x) for k, x in p.items()})  # bad values fail here, early
    pr0 = spec.problem({k: jnp.asarray(x) for k, x in first.items()})
    if discrete and pr0.game is None:
        raise InputTypeError(
            "make: discrete-time sweeps need a gdgan.vector_field(game, ...) or a "
            "gdgan.systems.System, got a plain callable field"
        )
    if discrete:
        spec.optimizer_for({k: jnp.asarray(x) for k, x in first.items()})

    # -- initial states as flat vectors
    if sampler is not None:
        template = spec.centre(pr0, True)
        if template is None:
            raise InputError(
                "inits: a sampler needs a centre: pass y0=, equilibria= or "
                "center=, or let make return a System"
            )
    elif inits is not None:
        template = jax.tree_util.tree_map(  # on the host: no eager XLA programs to compile
            lambda a: jnp.asarray(np.asarray(a)[0]) if eqx.is_array(a) else a,
            as_arrays(check_state(inits, "inits")),
        )
    else:
        template = pr0.base
        if template is None:
            raise InputError(
                "y0: required when `make` returns a plain field and no `inits` are given"
            )
    template = as_arrays(check_state(template, "y0"))
    tparams, tstatic = eqx.partition(template, eqx.is_inexact_array)
    vflat, unravel = ravel_pytree(tparams)
    d, dtype = int(vflat.size), vflat.dtype
    leaf_names = _leaf_names(tparams)
    leaf_shapes = [list(np.shape(x)) for x in jax.tree_util.tree_leaves(tparams)]

    def flat(y):
        return ravel_arrays(y).astype(dtype)

    relative = sampler is not None
    if sampler is not None:
        V = sampler.offsets(jax.random.PRNGKey(seed), d, dtype)
        init_spec = {**sampler.spec(), "seed": int(seed)}
    elif inits is not None:
        leaves = jax.tree_util.tree_leaves(eqx.filter(as_arrays(inits), eqx.is_inexact_array))
        n0 = np.shape(leaves[0])[0] if leaves else 0
        if any(np.ndim(x) < 1 or np.shape(x)[0] != n0 for x in leaves):
            raise InputError("inits: every leaf needs the same leading (batch) axis")
        V = np.concatenate([np.asarray(x, dtype).reshape(n0, -1) for x in leaves], axis=1)
        if not np.all(np.isfinite(V)):
            raise InputError("inits: must be finite, got NaN/inf")
        init_spec = {"kind": "states", "n": int(V.shape[0]), "hash": tree_hash(V)}
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
    do_spectrum_grid = d <= 256 if spectrum == "auto" else bool(spectrum)
    if discrete:
        mode_used = "vmap"
    else:
        mode_used = auto_mode(n_grid, min(chunk_size, n_runs)) if mode == "auto" else mode

    # -- configuration (the manifest) and a numerical fingerprint of the problem
    fingerprint = None
    if out is not None:  # only a store on disk needs it (resume checks it); skips a compile
        y_first = eqx.combine(
            unravel(flat(spec.centre(pr0, True) if relative else template) + V[0]), tstatic
        )
        h_first = np.asarray(_field_once(pr0.field, y_first))
        fingerprint = tree_hash({"h": h_first, "eq": [flat(e) for e in pr0.equilibria]})
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
        "fingerprint": fingerprint,
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
    replicated = NamedSharding(mesh, P())
    # runs per device padded to a multiple of 8: XLA's CPU code for a batch of one, or for
    # the tail of a batch that does not fill its SIMD vectors, rounds differently from the
    # vectorised body, so results would depend on the chunk size and the device count
    per_device = -(-min(chunk_size, n_runs) // n_dev)
    padded = -(-per_device // 8) * 8 * n_dev

    # -- the output directory: process 0 checks and creates it, then tells the others
    store, done = None, np.zeros(n_chunks, bool)
    if out is not None:
        store = Store(out, config, n_chunks, writer)
        status = np.zeros(n_chunks + 1, np.int32)
        if writer:
            try:
                status[1:] = store.prepare(resume)
            except InputError:
                _broadcast(np.full(n_chunks + 1, -1, np.int32))
                raise
        status = _broadcast(status)
        if status[0] < 0:
            raise InputError(f"out: process 0 could not use {out!r} (see its error)")
        done = status[1:].astype(bool)

    # -- options of the compiled functions (see `_runners`)
    default_tol = 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    opt = Options(
        t1=arr(0.0 if t1 is None else t1),
        rtol=arr(default_tol if rtol is None else rtol),
        atol=arr(default_tol if atol is None else atol),
        converge_tol=arr(converge_tol),
        diverge_norm=arr(diverge_norm),
        cycle_rtol=arr(cycle_rtol),
        center=None if spec.center is None else as_arrays(spec.center),
        tstatic=tstatic,
        solver=solver,
        template=(
            jax.tree_util.tree_structure(tparams),
            tuple(
                jax.ShapeDtypeStruct(a.shape, a.dtype) for a in jax.tree_util.tree_leaves(tparams)
            ),
        ),
        spec=None,
        optimizer=optimizer,
        mesh=mesh,
        discrete=discrete,
        mode=mode_used,
        steps=int(steps) if discrete else 0,
        order=order,
        disc_steps=int(disc_steps),
        max_steps=int(max_steps),
        n_check=int(n_check),
        do_spectrum=do_spectrum,
        do_spectrum_grid=do_spectrum_grid,
        spectrum_tol=float(spectrum_tol),
        relative=relative,
    )
    grid_index = list(np.ndindex(*grid_shape)) if names else [()]

    def params_of(js):
        """Grid values of grid points `js` (flat indices), name -> array."""
        idx = [grid_index[j] for j in js]
        return {k: np.stack([grid[k][ix[a]] for ix in idx]) for a, k in enumerate(names)}

    def to_global(x, batched=True):
        x = np.asarray(x)
        if mesh.size == 1:  # one device: plain arrays, nothing sharded to trace around
            return jnp.asarray(x)
        sh = sharding if batched else replicated
        return jax.make_array_from_callback(x.shape, sh, lambda i: x[i])

    def problems_of(params, n):
        """The problems as one pytree (structure-keyed compile), or `None` (fallback)."""
        nonlocal opt
        if opt.spec is None:
            built = structural(spec, params, n)
            if built is not None:
                return built
            opt = dataclasses.replace(opt, spec=spec)  # a static field: not `eqx.tree_at`
        return None

    # -- grid-point spectra (at the equilibrium), computed once
    if store is not None and store.has("grid.npz"):
        grid_arrays_ = store.read("grid.npz")
    elif not (pr0.equilibria and do_spectrum_grid):  # nothing to compute (or compile)
        nan = np.full(n_grid, np.nan, dtype)
        grid_arrays_ = dict(zip(GRID_FIELDS, (np.full(n_grid, -1, np.int32), nan, nan, nan)))
        if store is not None:
            store.write("grid.npz", grid_arrays_)
    else:
        parts = []
        gchunk = min(chunk_size, n_grid)
        for s in range(0, n_grid, gchunk):
            js = list(range(s, min(n_grid, s + gchunk)))
            js_pad = js + [js[-1]] * (gchunk - len(js))
            gp = params_of(js_pad)
            problems = problems_of(gp, len(js_pad))
            res = run_grid(
                opt, problems, {k: jnp.asarray(v) for k, v in gp.items()}, jnp.zeros(gchunk)
            )
            parts.append([np.asarray(x)[: len(js)] for x in res])
        grid_arrays_ = {
            k: np.concatenate([pt[i] for pt in parts]) for i, k in enumerate(GRID_FIELDS)
        }
        if store is not None:
            store.write("grid.npz", grid_arrays_)

    # -- the chunks
    def chunk_inputs(c):
        lo, hi = c * chunk_size, min(n_runs, (c + 1) * chunk_size)
        runs = np.arange(lo, hi)
        runs = np.concatenate([runs, np.full(padded - len(runs), runs[-1])])
        g, i = np.divmod(runs, n_inits)
        return params_of(g), V[i], hi - lo

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
            if done[c]:
                results[c] = store.read(store.chunk_name(c))
                continue
            params, Vc, n_real = chunk_inputs(c)
            problems = problems_of(params, padded)
            if problems is not None:
                problems = jax.tree_util.tree_map(
                    lambda a: to_global(a) if eqx.is_array(a) else a, problems
                )
            res = run_chunk(
                opt, problems, {k: to_global(v) for k, v in params.items()}, to_global(Vc)
            )
            res = {k: _gather(v)[:n_real] for k, v in res.items()}
            res.update({f"param_{k}": v[:n_real] for k, v in params.items()})
            results[c] = res
            if store is not None:
                store.write(store.chunk_name(c), res, chunk=c)
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
    arrays.update(grid_arrays_)
    result = SweepResult(
        grid, leaf_names, n_inits, config, arrays, time.perf_counter() - start_time
    )
    if store is not None and writer:
        fault_point("before-results")
        result.save(store.path("results.npz"))
        from ._store import atomic_json

        atomic_json(store.path("summary.json"), result.summary())
    return result
