r"""Trajectories of the flow $\dot θ = h(θ)$ with diffrax, and what they did (`Outcome`).

`simulate` solves the ODE adaptively (Tsit5 + PID by default, any diffrax solver, controller,
`SaveAt` and adjoint passed through unchanged), stops early on two events — *converged*
($\|h(y)\| <$ `converge_tol`) and *diverged* ($\|y\| >$ `diverge_norm` or non-finite) — and
classifies every trajectory with a `gdgan.Outcome`. It is pure JAX: `jax.jit`, `jax.vmap`
(over `y0`, over the field's hyperparameters) and `jax.grad` work through it.
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from diffrax._saveat import save_y as _save_y

from ._analysis import enum_name, flatten
from ._checks import check_finite_tree, is_concrete
from ._game import check_state
from ._tree import as_arrays as as_arrays
from ._tree import tree_distance as tree_distance
from ._tree import tree_norm as tree_norm


class Outcome(eqx.Enumeration):
    """What a trajectory did by the end of the run (compare with `==`; jittable, vmappable).

    The criteria are those of `gdgan.simulate` (and `gdgan.train`, per step):

    - `converged`: the steady-state event fired, $\\|h(y)\\| <$ `converge_tol`;
    - `diverged`: $\\|y\\| >$ `diverge_norm`, a non-finite state, or a solver failure;
    - `cycling`: reached `t1` bounded, not converged and *recurrent*: a given conserved
      quantity stayed within `conserved_rtol`, or (without one) the amplitude of the
      trajectory — the largest distance to `y_star` (or $\\|h\\|$ when no `y_star` is given) —
      is the same, to `cycle_rtol`, over the last quarter of the run as over its second;
    - `undecided`: reached `t1` bounded, not converged and not recurrent — still spiralling
      in or out; a longer `t1` will tell;
    - `max_steps`: the solver used `max_steps` steps before `t1` (only with `throw=False`;
      with `throw=True` diffrax raises).
    """

    converged = "‖h(y)‖ fell below converge_tol: the trajectory reached an equilibrium"
    cycling = (
        "bounded and not converged by t1, with a constant amplitude (or conserved quantity): "
        "a centre or a limit cycle"
    )
    diverged = "‖y‖ exceeded diverge_norm, became non-finite, or the solver failed"
    max_steps = "the solver reached max_steps before t1: raise max_steps or loosen rtol/atol"
    undecided = (
        "bounded, not converged and not recurrent by t1: still spiralling in or out; increase t1"
    )


def outcome_name(outcome) -> str | np.ndarray:
    """The member name(s) of an `Outcome` item, e.g. `"cycling"` (vectorised)."""
    return enum_name(Outcome, outcome)


def classify(
    *,
    converged,
    diverged,
    max_steps,
    amplitude_ratio,
    cycle_rtol,
    conserved_drift=None,
    conserved_rtol=None,
):
    """The `Outcome` from the run's flags (shared by `simulate` and `train`)."""
    if conserved_drift is not None:
        recurrent = conserved_drift <= conserved_rtol
    else:
        recurrent = jnp.abs(jnp.log(amplitude_ratio)) <= jnp.log1p(cycle_rtol)
    return Outcome.where(
        diverged,
        Outcome.diverged,
        Outcome.where(
            converged,
            Outcome.converged,
            Outcome.where(
                max_steps,
                Outcome.max_steps,
                Outcome.where(recurrent, Outcome.cycling, Outcome.undecided),
            ),
        ),
    )


def amplitude_ratio_of(ts, r, t0, t1):
    """max r over the last quarter of [t0, t1] / max r over the second quarter."""
    span = t1 - t0
    s = (ts - t0) / jnp.where(span == 0, 1.0, span)
    ok = jnp.isfinite(r)
    late = jnp.max(jnp.where(ok & (s >= 0.75), r, -jnp.inf))
    mid = jnp.max(jnp.where(ok & (s >= 0.25) & (s < 0.5), r, -jnp.inf))
    ratio = late / jnp.where(mid > 0, mid, 1.0)
    return jnp.where((mid > 0) & jnp.isfinite(late), ratio, jnp.inf)


class SimulateResult(eqx.Module):
    """Result of `gdgan.simulate` (a pytree; batched under `vmap`).

    - `ts`, `ys`: the saved times and states, as diffrax (`ys` has the state's structure
      with a leading time axis; entries after an early stop are `inf`);
    - `outcome`: a `gdgan.Outcome` item; `outcome_name` (property) its name;
    - `solution`: the `diffrax.Solution` (with gdgan's internal saves removed);
    - `y_final`, `t_final`: the state and time where the solve ended;
    - `residual`: $\\|h(y_{final})\\|$; `distance`: $\\|y_{final} - y^*\\|$ (NaN without `y_star`);
    - `amplitude_ratio`: the recurrence statistic of `Outcome`; `conserved_drift`:
      $\\max_t |H(y(t)) - H(y_0)| / \\max(|H(y_0)|, 1)$ over the monitor grid (NaN without
      `conserved`); `steps`: accepted solver steps.
    """

    ts: Any
    ys: Any
    outcome: Outcome
    solution: diffrax.Solution
    y_final: Any
    t_final: jax.Array
    residual: jax.Array
    distance: jax.Array
    amplitude_ratio: jax.Array
    conserved_drift: jax.Array
    steps: jax.Array

    @property
    def outcome_name(self):
        return outcome_name(self.outcome)

    @property
    def message(self) -> str:
        """The outcome's message (unbatched results)."""
        return Outcome[self.outcome]


class _Term(eqx.Module):
    """`field` on the inexact leaves of the state, other leaves held fixed (static)."""

    field: Any
    static_leaves: tuple = eqx.field(static=True)
    static_def: Any = eqx.field(static=True)

    def state(self, p):
        static = jax.tree_util.tree_unflatten(self.static_def, self.static_leaves)
        return eqx.combine(p, static)

    def __call__(self, t, p, args):
        out = self.field(t, self.state(p), args)
        return eqx.filter(out, eqx.is_inexact_array)


class _SteadyState(eqx.Module):
    term: _Term
    tol: jax.Array

    def __call__(self, t, y, args, **kwargs):
        return tree_norm(self.term(t, y, args)) < self.tol


class _Diverged(eqx.Module):
    bound: jax.Array

    def __call__(self, t, y, args, **kwargs):
        n = tree_norm(y)
        return ~jnp.isfinite(n) | (n > self.bound)


class _Monitor(eqx.Module):
    term: _Term
    y_star: Any
    conserved: Any

    def __call__(self, t, y, args):
        if self.y_star is None:
            r = tree_norm(self.term(t, y, args))
        else:
            r = tree_distance(y, self.y_star)
        h = jnp.nan if self.conserved is None else self.conserved(self.term.state(y))
        return r, jnp.asarray(h, dtype=r.dtype)


def _with_static(saveat, ys, static, static_leaves):
    plain = isinstance(saveat.subs, diffrax.SubSaveAt) and saveat.subs.fn is _save_y
    return eqx.combine(ys, static) if (static_leaves and plain) else ys


def _positive(value, name):
    if is_concrete(value):
        v = np.asarray(value, dtype=float)
        if not (v.ndim == 0 and np.isfinite(v) and v > 0):
            raise ValueError(f"simulate: `{name}` must be a positive number, got {value!r}")
    return value


def simulate(
    field,
    y0,
    t1,
    *,
    t0=0.0,
    saveat=None,
    n_save=1001,
    solver=None,
    stepsize_controller=None,
    rtol=None,
    atol=None,
    dt0=None,
    max_steps=100_000,
    throw=True,
    adjoint=None,
    args=None,
    converge_tol=1e-8,
    diverge_norm=1e6,
    y_star=None,
    conserved=None,
    conserved_rtol=1e-4,
    cycle_rtol=0.1,
    n_check=4001,
    progress=False,
) -> SimulateResult:
    r"""Integrate $\dot θ = h(θ)$ from `y0` over $[t_0, t_1]$ and classify the trajectory.

    Two terminating events (boolean `diffrax.Event`s, checked after every accepted step):
    **converged** when $\|h(y)\| <$ `converge_tol` (diffrax's steady-state event never fires
    on a centre, hence the bounded horizon) and **diverged** when $\|y\| >$ `diverge_norm`
    or $y$ is non-finite. A run that reaches `t1` is **cycling** when it is recurrent —
    `conserved` (if given) has drifted by at most `conserved_rtol` relative to
    $\max(|H(y_0)|, 1)$, else the amplitude (largest $\|y - y^*\|$, or $\|h(y)\|$ without
    `y_star`) over the last quarter of the run matches the second quarter to `cycle_rtol` —
    and **undecided** otherwise (see `gdgan.Outcome`). The amplitude is sampled on `n_check`
    equally spaced times (an internal `diffrax.SubSaveAt`, not returned in `ys`).

    **Arguments:**

    - `field`: `field(t, y, args)` returning the state's structure (e.g.
      `gdgan.vector_field(game, *regularizers)`, or any callable).
    - `y0`: the initial state `{"disc": ..., "gen": ...}`; `t1`: the final time (> `t0`).
    - `saveat`: a `diffrax.SaveAt` (passed through); default `n_save` equally spaced times.
    - `solver`, `stepsize_controller`: diffrax objects (default `diffrax.Tsit5()` and
      `diffrax.PIDController(rtol, atol)`; `rtol = atol = 1e-10` in float64, `1e-5` in
      float32); `dt0`: initial step (`None`: chosen by the
      controller); `max_steps`; `throw`: raise on solver failure (diffrax's meaning);
      `adjoint`: a diffrax adjoint (default `RecursiveCheckpointAdjoint`, so `jax.grad`
      works through the events); `args`: passed to `field`.
    - `converge_tol`, `diverge_norm`, `conserved_rtol`, `cycle_rtol`, `n_check`: the
      outcome criteria above. `y_star`: an equilibrium to measure the distance to.
      `conserved(y) -> scalar`: a first integral of the flow, if known.
    - `progress`: `True` for a tqdm bar on stderr (`diffrax.TqdmProgressMeter`) or a diffrax
      progress meter.

    **Returns:** a `SimulateResult` with `ts`, `ys`, `outcome`, `solution`, `y_final`,
    `t_final`, `residual`, `distance`, `steps`, `amplitude_ratio`, `conserved_drift`.

    ```python
    s = gdgan.systems.get("lq", loss="wgan")
    out = gdgan.simulate(s.field(gdgan.GradientPenalty(0.5)), s.init, 100.0,
                         y_star=s.equilibrium)
    out.outcome == gdgan.Outcome.converged   # and out.distance < 1e-6
    ```
    """
    y0 = as_arrays(check_state(y0, "y0"))
    check_finite_tree(y0, "simulate", "y0")
    if y_star is not None:
        y_star = as_arrays(check_state(y_star, "y_star"))
    if not callable(field):
        raise TypeError(f"field: expected a callable field(t, y, args), got {field!r}")
    for name, value in (("t0", t0), ("t1", t1)):
        if is_concrete(value):
            v = np.asarray(value)
            if v.ndim != 0 or not np.issubdtype(v.dtype, np.number) or not np.isfinite(v):
                raise ValueError(f"simulate: `{name}` must be a finite number, got {value!r}")
    if is_concrete(t0) and is_concrete(t1) and not float(t1) > float(t0):
        raise ValueError(f"simulate: `t1` must be greater than t0 = {float(t0)}, got {t1!r}")
    dtype = jnp.result_type(
        *[x for x in jax.tree_util.tree_leaves(y0) if eqx.is_inexact_array(x)], float
    )
    default_tol = 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5
    rtol = default_tol if rtol is None else rtol
    atol = default_tol if atol is None else atol
    for name, value in (
        ("rtol", rtol),
        ("atol", atol),
        ("converge_tol", converge_tol),
        ("diverge_norm", diverge_norm),
        ("cycle_rtol", cycle_rtol),
        ("conserved_rtol", conserved_rtol),
    ):
        _positive(value, name)
    for name, value in (("max_steps", max_steps), ("n_check", n_check), ("n_save", n_save)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 4:
            raise ValueError(f"simulate: `{name}` must be an integer >= 4, got {value!r}")
    if saveat is not None and not isinstance(saveat, diffrax.SaveAt):
        raise TypeError(f"saveat: expected a diffrax.SaveAt, got {saveat!r}")
    if solver is not None and not isinstance(solver, diffrax.AbstractSolver):
        raise TypeError(f"solver: expected a diffrax solver, e.g. diffrax.Tsit5(), got {solver!r}")
    flatten(field, y0, 0.0, args)  # the field returns the state's structure (one-line error)

    if progress is True:
        progress = diffrax.TqdmProgressMeter()
    elif progress is False or progress is None:
        progress = diffrax.NoProgressMeter()
    # numbers become arrays, so new values do not recompile
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    return _simulate(
        field,
        y0,
        arr(t0),
        arr(t1),
        saveat,
        n_save,
        solver,
        stepsize_controller,
        arr(rtol),
        arr(atol),
        dt0,
        max_steps,
        throw,
        adjoint,
        args,
        arr(converge_tol),
        arr(diverge_norm),
        y_star,
        conserved,
        arr(conserved_rtol),
        arr(cycle_rtol),
        n_check,
        progress,
    )


@eqx.filter_jit
def _simulate(
    field,
    y0,
    t0,
    t1,
    saveat,
    n_save,
    solver,
    stepsize_controller,
    rtol,
    atol,
    dt0,
    max_steps,
    throw,
    adjoint,
    args,
    converge_tol,
    diverge_norm,
    y_star,
    conserved,
    conserved_rtol,
    cycle_rtol,
    n_check,
    progress,
):
    params, static = eqx.partition(y0, eqx.is_inexact_array)
    static_leaves, static_def = jax.tree_util.tree_flatten(static)
    term_fn = _Term(field, tuple(static_leaves), static_def)
    dtype = t1.dtype
    if y_star is not None:
        y_star = eqx.filter(y_star, eqx.is_inexact_array)

    if saveat is None:
        saveat = diffrax.SaveAt(ts=jnp.linspace(t0, t1, n_save))
    monitor = diffrax.SubSaveAt(
        ts=jnp.linspace(t0, t1, n_check), fn=_Monitor(term_fn, y_star, conserved)
    )
    final = diffrax.SubSaveAt(t1=True)
    inner = diffrax.SaveAt(
        subs=(saveat.subs, final, monitor),
        dense=saveat.dense,
        solver_state=saveat.solver_state,
        controller_state=saveat.controller_state,
        made_jump=saveat.made_jump,
    )
    if solver is None:
        solver = diffrax.Tsit5()
    if stepsize_controller is None:
        stepsize_controller = diffrax.PIDController(rtol=rtol, atol=atol)
    event = diffrax.Event(
        {"converged": _SteadyState(term_fn, converge_tol), "diverged": _Diverged(diverge_norm)}
    )
    kwargs = {} if adjoint is None else {"adjoint": adjoint}
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(term_fn),
        solver,
        t0,
        t1,
        dt0,
        params,
        args,
        saveat=inner,
        stepsize_controller=stepsize_controller,
        event=event,
        max_steps=max_steps,
        throw=throw,
        progress_meter=progress,
        **kwargs,
    )
    user_ts, final_ts, mon_ts = sol.ts
    user_ys, final_ys, (r, h) = sol.ys
    y_final = jax.tree_util.tree_map(lambda a: a[-1], final_ys)
    t_final = final_ts[-1]

    mask = sol.event_mask
    ev_conv = mask["converged"] if mask is not None else jnp.array(False)
    ev_div = mask["diverged"] if mask is not None else jnp.array(False)
    event_hit = sol.result == diffrax.RESULTS.event_occurred
    ok = (sol.result == diffrax.RESULTS.successful) | event_hit
    hit_max = sol.result == diffrax.RESULTS.max_steps_reached
    final_norm = tree_norm(y_final)
    diverged = (event_hit & ev_div) | ~jnp.isfinite(final_norm) | (final_norm > diverge_norm)
    diverged = diverged | (~ok & ~hit_max)
    converged = event_hit & ev_conv
    residual = tree_norm(term_fn(t_final, y_final, args))
    distance = jnp.asarray(jnp.nan, dtype) if y_star is None else tree_distance(y_final, y_star)
    ratio = amplitude_ratio_of(mon_ts, r, t0, t1)
    drift = jnp.asarray(jnp.nan, dtype)
    if conserved is not None:
        h0 = jnp.asarray(conserved(y0), dtype)
        dev = jnp.where(jnp.isfinite(h), jnp.abs(h - h0), 0.0)
        drift = jnp.max(dev) / jnp.maximum(jnp.abs(h0), 1.0)
    outcome = classify(
        converged=converged,
        diverged=diverged,
        max_steps=hit_max,
        amplitude_ratio=ratio,
        cycle_rtol=cycle_rtol,
        conserved_drift=drift if conserved is not None else None,
        conserved_rtol=conserved_rtol,
    )
    solution = eqx.tree_at(
        lambda s: (s.ts, s.ys), sol, (user_ts, user_ys), is_leaf=lambda x: x is None
    )
    return SimulateResult(
        ts=user_ts,
        ys=_with_static(saveat, user_ys, static, static_leaves),
        outcome=outcome,
        solution=solution,
        y_final=eqx.combine(y_final, static),
        t_final=t_final,
        residual=residual,
        distance=distance,
        amplitude_ratio=ratio,
        conserved_drift=drift,
        steps=sol.stats["num_accepted_steps"],
    )
