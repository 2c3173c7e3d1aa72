r"""Trajectories of the flow $\dot θ = h(θ)$ with diffrax, and what they did (`Outcome`).

`simulate` solves the ODE adaptively (Tsit5 + PID by default, any diffrax solver, controller,
`SaveAt` and adjoint passed through unchanged), stops early — *converged*
($\|h(y)\| <$ `converge_tol`) or *diverged* ($\|y\| >$ `diverge_norm` or non-finite), tested
after every step on the derivative the solver already computed (`_Probe`) — and classifies
every trajectory with a `gdgan.Outcome`. It is pure JAX: `jax.jit`, `jax.vmap`
(over `y0`, over the field's hyperparameters) and `jax.grad` work through it.
"""

from __future__ import annotations

import functools
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._analysis import enum_name
from ._checks import (
    InputError,
    InputTypeError,
    check_finite_tree,
    check_int,
    check_number,
    is_concrete,
)
from ._game import check_state
from ._tree import as_arrays as as_arrays
from ._tree import flatten
from ._tree import tree_distance as tree_distance
from ._tree import tree_norm as tree_norm

# diffrax's default `SubSaveAt.fn` (save the state itself), reached through the public API
_save_y = diffrax.SubSaveAt(t1=True).fn
# where the amplitude windows are read off: quarters of [t0, t1]
_QUARTERS = (0.25, 0.5, 0.75, 1.0)


class Outcome(eqx.Enumeration):
    """What a trajectory did by the end of the run (compare with `==`; jittable, vmappable).

    The criteria are those of `gdgan.simulate` (and `gdgan.train`, per step):

    - `converged`: the steady-state test fired after a step, $\\|h(y)\\| <$ `converge_tol`;
    - `diverged`: $\\|y\\| >$ `diverge_norm`, a non-finite state, or a solver failure;
    - `cycling`: reached `t1` bounded, not converged and *recurrent*: a given conserved
      quantity stayed within `conserved_rtol`, or (without one) the amplitude of the
      trajectory — the root-mean-square distance to `y_star` (or of $\\|h\\|$ when no
      `y_star` is given) over a quarter of the run — is the same, to `cycle_rtol`, over the
      last quarter as over the second;
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


def window_ratio(q):
    r"""The amplitude ratio from $Q(t) = \int_{t_0}^{t} r^2\,ds$ read at the quarters of the
    run, `q = Q(t_0 + (t_1 - t_0)(1/4, 1/2, 3/4, 1))` (last axis): the root-mean-square of
    $r$ over the last quarter divided by that over the second quarter (`inf` when the second
    quarter's is zero or the run stopped early)."""
    mid = q[..., 1] - q[..., 0]
    late = jnp.maximum(q[..., 3] - q[..., 2], 0.0)
    ratio = jnp.sqrt(late / jnp.where(mid > 0, mid, 1.0))
    return jnp.where((mid > 0) & jnp.isfinite(late), ratio, jnp.inf)


def sumsq(tree):
    """Sum of squares over the inexact array leaves (a smooth $\\|\\cdot\\|^2$, no sqrt)."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)]
    return sum(jnp.sum(jnp.square(x)) for x in leaves)


class SimulateResult(eqx.Module):
    """Result of `gdgan.simulate` (a pytree; batched under `vmap`).

    - `ts`, `ys`: the saved times and states, as diffrax (`ys` has the state's structure
      with a leading time axis; entries after an early stop are `inf`);
    - `outcome`: a `gdgan.Outcome` item; `outcome_name` (property) its name;
    - `solution`: the `diffrax.Solution` (with gdgan's internal saves removed; with
      `SaveAt(dense=True)`, `solution.evaluate(t)` returns the solve's whole state, whose
      `.z` is `(y, Q)`: the state and the amplitude integral $Q$ of `simulate`; after an
      early stop `result` is `successful` and `stats` count one more step, to `t1`);
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
        return _term_call(self, t, p, args)


@eqx.filter_jit
def _term_call(term, t, p, args):
    """One field evaluation as its own jitted function: the solver, the stop test and the
    post-processing evaluate the field at up to a dozen places, and each would trace it
    again (a penalised field is a gradient of gradients: tens of ms per trace); this way
    it is traced once per shape and reused."""
    out = term.field(t, term.state(p), args)
    return eqx.filter(out, eqx.is_inexact_array)


class _Windows(eqx.Module):
    """The ODE on $(y, Q)$: $\\dot y = h(y)$ and $\\dot Q = r(y)^2$, with $r = \\|y - y^*\\|$
    (or $r = \\|h(y)\\|$ without `y_star`: the derivative already computed, no extra field
    evaluation). $Q$ read at the quarters of the run gives the amplitude windows of
    `Outcome` (`window_ratio`); it is left out of the step-size control (`_StateNorm`), so
    the steps are those of the solve on $y$ alone."""

    term: _Term
    y_star: Any

    def __call__(self, t, z, args):
        y, _ = z
        h = self.term(t, y, args)
        if self.y_star is None:
            r2 = sumsq(h)
        else:
            r2 = sumsq(jax.tree_util.tree_map(lambda a, b: a - b, y, self.y_star))
        return h, jnp.asarray(r2, dtype=jnp.result_type(r2))


class _W(eqx.Module):
    r"""The state of the solve: $z$ — $(y, Q)$ in `simulate`, the runs' states $Y$ in the
    shared-step sweep — and what is carried beside it, with no derivative of its own: $q$,
    $Q$ read at the quarters of the run (`inf` until crossed); `dz`, $f(t, z)$ at the end of
    the last step; `t_stop` and `kind`, when and why the run stopped (`inf` and 0 while it
    runs; kind 1 converged, 2 diverged); `Q`, the running $Q$ where it is carried rather
    than integrated (the shared-step sweep, one per run)."""

    z: Any
    q: Any
    dz: Any = None
    t_stop: Any = None
    kind: Any = None
    Q: Any = None

    def zero_carried(self, dz):
        """$\\dot w$: `dz` for $z$, zero for everything carried."""
        zero = lambda x: jax.tree_util.tree_map(jnp.zeros_like, x)  # noqa: E731
        return _W(dz, *(zero(a) for a in (self.q, self.dz, self.t_stop, self.kind, self.Q)))


def _y(w):
    return w.z[0]


class _StateNorm(eqx.Module):
    """A controller's norm applied to $y$ only, of $w$ (the controller's) or of $z = (y, Q)$
    (an implicit solver's root finder)."""

    norm: Any

    def __call__(self, w):
        return self.norm((w.z if isinstance(w, _W) else w)[0])


class _OnState(eqx.Module):
    """A `SubSaveAt.fn` applied to $y$."""

    fn: Any

    def __call__(self, t, w, args):
        return self.fn(t, _y(w), args)


class _Conserved(eqx.Module):
    term: _Term
    conserved: Any

    def __call__(self, t, w, args):
        return jnp.asarray(self.conserved(self.term.state(_y(w))))


class _Stop(eqx.Module):
    """Why a run stops after a step: **converged** when $\\|h(y)\\| <$ `tol` (read off the
    carried derivative), else **diverged** when $\\|y\\| >$ `bound` or non-finite."""

    tol: jax.Array
    bound: jax.Array

    def __call__(self, z, dz):
        n = tree_norm(z[0])
        converged = tree_norm(dz[0]) < self.tol
        diverged = ~jnp.isfinite(n) | (n > self.bound)
        dtype = jnp.result_type(n)
        return jnp.where(converged, 1, jnp.where(diverged, 2, 0)).astype(dtype)


class _ProbeInterpolation(diffrax.AbstractLocalInterpolation):
    """The wrapped solver's interpolation of $z$, the carried parts held at their values at
    the start of the step; `inf` for $z$ in the step after a stop (no state there)."""

    t0: Any
    t1: Any
    inner: Any
    w0: _W
    frozen: Any

    def evaluate(self, t0, t1=None, left=True):
        if t1 is not None:
            return self.w0.zero_carried(self.inner.evaluate(t0, t1, left))
        z = self.inner.evaluate(t0, None, left)
        z = jax.tree_util.tree_map(lambda a: jnp.where(self.frozen, jnp.inf, a), z)
        return eqx.tree_at(lambda w: w.z, self.w0, z)


def _probe_interpolation(inner_cls, *, t0, t1, inner, w0, frozen):
    return _ProbeInterpolation(t0, t1, inner_cls(t0=t0, t1=t1, **inner), w0, frozen)


class _Probe(diffrax.AbstractAdaptiveSolver):
    r"""`solver` on $z$, carrying in the state $w$ (`_W`) what the outcome needs, with no
    work in diffrax's loop:

    - $\dot z = f(t_1, z_1)$ at the end of each step: for a Runge–Kutta method with the
      first-same-as-last property (Tsit5, the default; Dopri5, Dopri8) the last stage the
      step already computed, so the convergence test costs no field evaluation (one in
      seven of a Tsit5 step); otherwise one evaluation per step;
    - $q$, $Q$ = `q_of(z)` read at the `quarters` of the run inside the step that crosses
      each (`_read_quarters`; diffrax's `SubSaveAt(ts=...)` would interpolate the whole
      state in an inner loop after every step);
    - when and why the run stopped: the stop is the end of the step after
      which `stop(z, dz)` says converged or diverged (what a terminating `diffrax.Event`
      checks, without the event's carried dense output); every later step leaves $w$ as
      it is, and `_Stopping` makes the next step the last, to $t_1$."""

    solver: diffrax.AbstractSolver
    term: diffrax.ODETerm  # the ODE on z; the term diffeqsolve passes (on w) is not used
    quarters: jax.Array
    q_of: Any = eqx.field(static=True)
    stop: _Stop | None = None  # None only in subclasses with their own `step`

    @property
    def term_structure(self):
        return self.solver.term_structure

    @property
    def interpolation_cls(self):  # pyright: ignore
        return functools.partial(_probe_interpolation, self.solver.interpolation_cls)

    @property
    def term_compatible_contr_kwargs(self):
        return self.solver.term_compatible_contr_kwargs

    def order(self, terms):
        return self.solver.order(terms)

    def strong_order(self, terms):
        return self.solver.strong_order(terms)

    def error_order(self, terms):
        return self.solver.error_order(terms)

    def init(self, terms, t0, t1, w0, args):
        return self.solver.init(self.term, t0, t1, w0.z, args)

    def step(self, terms, t0, t1, w0, args, solver_state, made_jump):
        frozen = w0.kind != 0
        # a stopped run's steps have length zero: nothing non-finite to select away
        # (which would make gradients NaN)
        t1_in = jnp.where(frozen, t0, t1)
        z1, err, dense, state, result = self.solver.step(
            self.term, t0, t1_in, w0.z, args, solver_state, made_jump
        )
        dz1 = state[1] if self.fsal(state) else self.solver.func(self.term, t1_in, z1, args)
        q1 = _read_quarters(self.quarters, t0, t1_in, self.q_of, w0, z1, dz1)
        kind = self.stop(z1, dz1)
        t_stop = jnp.where(kind != 0, t1, jnp.inf).astype(kind.dtype)
        w1 = _W(z1, q1, dz1, t_stop, kind)
        w1 = jax.tree_util.tree_map(lambda a, b: jnp.where(frozen, a, b), w0, w1)
        result = diffrax.RESULTS.where(frozen, diffrax.RESULTS.successful, result)
        if err is not None:
            err = w1.zero_carried(jax.tree_util.tree_map(lambda e: jnp.where(frozen, 0.0, e), err))
        return w1, err, dict(inner=dense, w0=w0, frozen=frozen), state, result

    def func(self, terms, t0, w0, args):
        return w0.zero_carried(self.solver.func(self.term, t0, w0.z, args))

    def fsal(self, state):
        """Whether the solver state after a step is diffrax's FSAL one, (first step?,
        $f(t_1, z_1)$): the derivative at the step's end, already computed."""
        fsal = isinstance(self.solver, diffrax.AbstractRungeKutta) and self.solver.tableau.fsal
        return fsal and isinstance(state, tuple) and len(state) == 2


def _read_quarters(quarters, t0, t1, q_of, w0, z1, dz1):
    r"""$q$ after the step $[t_0, t_1]$: $Q$ at each quarter time the step crosses, by the
    cubic Hermite interpolant of $Q$ from its values and derivatives ($\dot Q = r^2$) at
    the two ends — fourth-order accurate like the solver's own dense output, for a few
    operations instead of an interpolation of the whole state."""
    q0, q1, dq0, dq1 = q_of(w0.z), q_of(z1), q_of(w0.dz), q_of(dz1)
    return _hermite_quarters(quarters, t0, t1, q0, q1, dq0, dq1, w0.q)


def _hermite_quarters(quarters, t0, t1, q0, q1, dq0, dq1, q):
    """`q` with the entries of the `quarters` in $(t_0, t_1]$ replaced by the cubic Hermite
    interpolant of $Q$ from its values `q0`, `q1` and derivatives `dq0`, `dq1` at $t_0$,
    $t_1$ (`q`: the quarters on the leading axis)."""
    h = t1 - t0
    s = jnp.where(h > 0, (quarters - t0) / jnp.where(h > 0, h, 1.0), 0.0)
    s = s.reshape((-1,) + (1,) * jnp.ndim(q1))
    m0, m1 = h * dq0, h * dq1
    at = (
        (2 * s**3 - 3 * s**2 + 1) * q0
        + (s**3 - 2 * s**2 + s) * m0
        + (3 * s**2 - 2 * s**3) * q1
        + (s**3 - s**2) * m1
    )
    crossed = ((quarters > t0) & (quarters <= t1)).reshape(s.shape)
    return jnp.where(crossed, at, q)


class _Stopping(diffrax.AbstractStepSizeController):
    """`controller`, except that the step after a stop goes straight to `t_end` (the run has
    nothing left to do; diffrax's loop then ends as at `t1`)."""

    controller: Any
    t_end: Any

    def wrap(self, direction):
        return _Stopping(self.controller.wrap(direction), self.t_end)

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        tnext, state = self.controller.init(terms, t0, t1, y0, dt0, args, func, error_order)
        return jnp.where(y0.kind != 0, self.t_end, tnext), state  # stopped at t0

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order, state):
        keep, next_t0, next_t1, jump, state, result = self.controller.adapt_step_size(
            t0, t1, y0, y1_candidate, args, y_error, error_order, state
        )
        done = keep & (y1_candidate.kind != 0)
        next_t1 = jnp.where(done, self.t_end, next_t1)
        return keep, next_t0, next_t1, jump, state, result


# diffeqsolve hands an implicit solver's root finder the controller's tolerances only when
# it sees the implicit solver itself; wrapped in `_Probe` it must be done here
_FROM_CONTROLLER = type(diffrax.Kvaerno5().root_finder.rtol)


class _OnW(eqx.Module):
    """The ODE on $w$, for diffeqsolve's own checks (`_Probe` steps $z$ itself)."""

    term: Any

    def __call__(self, t, w, args):
        return w.zero_carried(self.term(t, w.z, args))


def _pid(controller):
    """The controller that sets the steps: a PIDController with `step_ts` / `jump_ts` is a
    `ClipStepSizeController` around one."""
    if isinstance(controller, diffrax.ClipStepSizeController):
        return controller.controller
    return controller


def _probe(solver, controller, term, quarters, q_of, *, cls=None, **kwargs):
    if isinstance(solver, diffrax.AbstractImplicitSolver):
        rf = solver.root_finder
        names = [
            a for a in ("rtol", "atol", "norm") if isinstance(getattr(rf, a), _FROM_CONTROLLER)
        ]
        if names and not isinstance(controller, diffrax.AbstractAdaptiveStepSizeController):
            raise InputError(
                "solver: an implicit solver with a constant step needs its root finder's "
                "rtol and atol, e.g. diffrax.Kvaerno5(root_finder=diffrax.VeryChord(1e-8, 1e-8))"
            )
        values = {
            "rtol": lambda: controller.rtol,
            "atol": lambda: controller.atol,
            "norm": lambda: _pid(controller).norm,  # takes w or z (`_StateNorm`, `_RunNorm`)
        }
        solver = eqx.tree_at(
            lambda s: [getattr(s.root_finder, a) for a in names],
            solver,
            [values[a]() for a in names],
        )
    return (cls or _Probe)(solver, diffrax.ODETerm(term), quarters, q_of, **kwargs)


def _second(z):
    return z[1]


def _w0(term, t0, z0, args, q0, stop):
    """The initial state: $q$ `inf` (no window reached); stopped at $t_0$ if `z0` already is
    converged or diverged."""
    q = jnp.full((len(_QUARTERS),) + jnp.shape(q0), jnp.inf, jnp.result_type(q0))
    dz0 = term(t0, z0, args)
    kind = stop(z0, dz0)
    return _W(z0, q, dz0, jnp.where(kind != 0, t0, jnp.inf).astype(kind.dtype), kind)


def _after_stop(subs, ts, ys, t_final, early):
    """The user's saves as a terminating event leaves them, for a run that stopped
    (`early`) before $t_1$: entries after the stop are `inf`, and a `t1` save, the stopping
    time and state, follows the last entry before it."""

    def one(sub, ts, ys):
        keep = ts <= t_final
        n, last = jnp.sum(keep), jnp.sum(jnp.isfinite(ts)) - 1  # last: the t1 save

        def cut(a, full=None):
            mask = keep.reshape((-1,) + (1,) * (a.ndim - 1))
            b = jnp.where(mask, a, jnp.inf) if eqx.is_inexact_array(a) else a
            if sub.t1 and not sub.steps:  # with steps, the stopping step's save is the t1 one
                b = b.at[n].set(a[last] if full is None else full)
            return jnp.where(early, b, a)

        return cut(ts, t_final), jax.tree_util.tree_map(cut, ys)

    is_sub = lambda x: isinstance(x, diffrax.SubSaveAt)  # noqa: E731
    flat_subs, treedef = jax.tree_util.tree_flatten(subs, is_leaf=is_sub)
    out = [
        one(sub, t, y)
        for sub, t, y in zip(flat_subs, treedef.flatten_up_to(ts), treedef.flatten_up_to(ys))
    ]
    return treedef.unflatten([o[0] for o in out]), treedef.unflatten([o[1] for o in out])


def _with_static(saveat, ys, static, static_leaves):
    plain = isinstance(saveat.subs, diffrax.SubSaveAt) and saveat.subs.fn is _save_y
    return eqx.combine(ys, static) if (static_leaves and plain) else ys


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

    The run stops after the accepted step that ends **converged** — $\|h(y)\| <$
    `converge_tol` (never on a centre, hence the bounded horizon) — or **diverged** —
    $\|y\| >$ `diverge_norm` or $y$ non-finite: what two terminating boolean
    `diffrax.Event`s check, with the same steps, stopping time and saves (`inf` after the
    stop), but read off the derivative the solver already has. A run that reaches `t1` is **cycling** when it is recurrent —
    `conserved` (if given) has drifted by at most `conserved_rtol` relative to
    $\max(|H(y_0)|, 1)$ (checked on `n_check` equally spaced times), else the amplitude —
    the root-mean-square of $r = \|y - y^*\|$ (of $r = \|h(y)\|$ without `y_star`) — over
    the last quarter of the run matches the second quarter to `cycle_rtol` — and
    **undecided** otherwise (see `gdgan.Outcome`). The amplitude is carried through the
    solve as one extra ODE component $\dot Q = r^2$ (excluded from the step-size control,
    so the steps are those of the bare solve; no extra field evaluation without `y_star`),
    read at the four quarter times inside the step that crosses each.

    Cost. Per Tsit5 step: its 6 field evaluations and nothing more — the convergence test
    reuses the step's last stage (first same as last; a solver without that property
    pays one evaluation per step). Under `jax.vmap` every save point is interpolated for
    every trajectory: with the default `saveat` (`n_save` = 1 001 times) a vmapped
    `simulate` took 3.6× as long as with `saveat=diffrax.SaveAt(t1=True)` (Dirac-GAN,
    1 000 runs), which costs what a hand-written vmapped `diffeqsolve` does (see
    `benchmarks/README.md`). Pass `SaveAt(t1=True)` when only the end point and the outcome
    are needed (what `gdgan.sweep` does). `conserved` adds `n_check` interpolated points.

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
      works through the stopping rule); `args`: passed to `field`.
    - `converge_tol`, `diverge_norm`, `conserved_rtol`, `cycle_rtol`, `n_check` (used only
      with `conserved`): the outcome criteria above. `y_star`: an equilibrium to measure the distance to.
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
        raise InputTypeError(f"field: expected a callable field(t, y, args), got {field!r}")
    for name, value in (("t0", t0), ("t1", t1)):
        if is_concrete(value):  # traced times and tolerances are left to the caller
            check_number(value, "simulate", name, positive=False)
    if is_concrete(t0) and is_concrete(t1) and not float(t1) > float(t0):
        raise InputError(
            f"simulate: t1: expected a number greater than t0 = {float(t0)}, got {t1!r}"
        )
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
        if is_concrete(value):
            check_number(value, "simulate", name)
    for name, value in (("max_steps", max_steps), ("n_check", n_check), ("n_save", n_save)):
        check_int(value, "simulate", name, low=4)
    if saveat is not None and not isinstance(saveat, diffrax.SaveAt):
        raise InputTypeError(f"saveat: expected a diffrax.SaveAt, got {saveat!r}")
    if solver is not None and not isinstance(solver, diffrax.AbstractSolver):
        raise InputTypeError(
            f"solver: expected a diffrax solver, e.g. diffrax.Tsit5(), got {solver!r}"
        )
    flatten(field, y0, 0.0, args)  # the field returns the state's structure (one-line error)

    if progress is True:
        progress = diffrax.TqdmProgressMeter()
    elif progress is False or progress is None:
        progress = diffrax.NoProgressMeter()
    # numbers become arrays, so new values do not recompile
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    opt = _Options(
        t0=arr(t0),
        t1=arr(t1),
        rtol=arr(rtol),
        atol=arr(atol),
        converge_tol=arr(converge_tol),
        diverge_norm=arr(diverge_norm),
        conserved_rtol=arr(conserved_rtol),
        cycle_rtol=arr(cycle_rtol),
        saveat=saveat,
        solver=solver,
        stepsize_controller=stepsize_controller,
        adjoint=adjoint,
        progress=progress,
        conserved=conserved,
        dt0=dt0,
        n_save=n_save,
        n_check=n_check,
        max_steps=max_steps,
        throw=throw,
    )
    return _simulate(field, y0, args, y_star, opt)


class _Options(eqx.Module):
    """Everything `simulate` passes to its compiled core besides the field, the state, `args`
    and `y_star` (numbers as arrays, so that new values do not recompile)."""

    t0: jax.Array
    t1: jax.Array
    rtol: jax.Array
    atol: jax.Array
    converge_tol: jax.Array
    diverge_norm: jax.Array
    conserved_rtol: jax.Array
    cycle_rtol: jax.Array
    saveat: Any = None
    solver: Any = None
    stepsize_controller: Any = None
    adjoint: Any = None
    progress: Any = None
    conserved: Any = None
    dt0: Any = None
    n_save: int = eqx.field(static=True, default=1001)
    n_check: int = eqx.field(static=True, default=4001)
    max_steps: int = eqx.field(static=True, default=100_000)
    throw: bool = eqx.field(static=True, default=True)


def _controller(opt):
    controller = opt.stepsize_controller
    if controller is None:
        controller = diffrax.PIDController(rtol=opt.rtol, atol=opt.atol)
    if isinstance(_pid(controller), diffrax.PIDController):  # the error is measured on y only
        norm = _StateNorm(_pid(controller).norm)
        controller = eqx.tree_at(lambda c: _pid(c).norm, controller, norm)
    return controller


_SAVE_Y = diffrax.SubSaveAt(t1=True).fn


def _is_t1_only(saveat):
    """Whether `saveat` saves the final state and nothing else."""
    sub = saveat.subs
    return (
        isinstance(sub, diffrax.SubSaveAt)
        and sub.t1
        and not sub.t0
        and sub.ts is None
        and not sub.steps
        and sub.fn is _SAVE_Y
        and not (saveat.dense or saveat.solver_state or saveat.controller_state)
        and not saveat.made_jump
    )


def _solve(field, y0, args, y_star, opt: _Options):
    """The body of `simulate` after its checks; `_simulate` is its jitted form. Callers
    already inside a vmapped trace (the sweep) call this directly: a jitted call there is
    traced and then batched a second time."""
    params, static = eqx.partition(y0, eqx.is_inexact_array)
    static_leaves, static_def = jax.tree_util.tree_flatten(static)
    term_fn = _Term(field, tuple(static_leaves), static_def)
    t0, t1 = opt.t0, opt.t1
    dtype = t1.dtype
    if y_star is not None:
        y_star = eqx.filter(y_star, eqx.is_inexact_array)

    saveat = opt.saveat
    if saveat is None:
        saveat = diffrax.SaveAt(ts=jnp.linspace(t0, t1, opt.n_save))
    user_subs = jax.tree_util.tree_map(
        lambda sub: eqx.tree_at(lambda x: x.fn, sub, _OnState(sub.fn)),
        saveat.subs,
        is_leaf=lambda x: isinstance(x, diffrax.SubSaveAt),
    )
    quarters = t0 + (t1 - t0) * jnp.asarray(_QUARTERS, dtype)
    # the final state is saved once: a user `SaveAt(t1=True)` is that save (one save
    # less in the loop body: less to compile)
    t1_only = _is_t1_only(saveat)
    subs = [] if t1_only else [user_subs]
    subs += [
        diffrax.SubSaveAt(t1=True),
    ]
    if opt.conserved is not None:
        subs.append(
            diffrax.SubSaveAt(
                ts=jnp.linspace(t0, t1, opt.n_check), fn=_Conserved(term_fn, opt.conserved)
            )
        )
    inner = diffrax.SaveAt(
        subs=tuple(subs),
        dense=saveat.dense,
        solver_state=saveat.solver_state,
        controller_state=saveat.controller_state,
        made_jump=saveat.made_jump,
    )
    controller = _controller(opt)
    windows = _Windows(term_fn, y_star)
    stop = _Stop(opt.converge_tol, opt.diverge_norm)
    solver = _probe(
        diffrax.Tsit5() if opt.solver is None else opt.solver,
        controller,
        windows,
        quarters,
        q_of=_second,
        stop=stop,
    )
    z0 = (params, jnp.zeros((), dtype))
    kwargs = {} if opt.adjoint is None else {"adjoint": opt.adjoint}
    progress = diffrax.NoProgressMeter() if opt.progress is None else opt.progress
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_OnW(windows)),
        solver,
        t0,
        t1,
        opt.dt0,
        _w0(windows, t0, z0, args, z0[1], stop),
        args,
        saveat=inner,
        stepsize_controller=_Stopping(controller, t1),
        max_steps=opt.max_steps,
        throw=opt.throw,
        progress_meter=progress,
        **kwargs,
    )
    sol_ts, sol_ys = list(sol.ts), list(sol.ys)
    user = None if t1_only else (sol_ts.pop(0), sol_ys.pop(0))
    final = jax.tree_util.tree_map(lambda a: a[-1], sol_ys[0])
    stopped = final.kind != 0
    t_final = jnp.where(stopped, final.t_stop, sol_ts[0][-1])
    y_final = final.z[0]
    if user is None:  # t1 only: the final save is the user's
        user_ts, user_ys = t_final[None], jax.tree_util.tree_map(lambda a: a[None], y_final)
    else:
        user_ts, user_ys = _after_stop(saveat.subs, *user, t_final, stopped & (t_final < t1))

    ok = sol.result == diffrax.RESULTS.successful
    hit_max = sol.result == diffrax.RESULTS.max_steps_reached
    final_norm = tree_norm(y_final)
    diverged = (final.kind == 2) | ~jnp.isfinite(final_norm) | (final_norm > opt.diverge_norm)
    diverged = diverged | (~ok & ~hit_max)
    converged = final.kind == 1
    residual = tree_norm(final.dz[0])
    # the step after a stop (to t1) is not one of the run's
    steps = sol.stats["num_accepted_steps"] - (stopped & (final.t_stop < t1))
    distance = jnp.asarray(jnp.nan, dtype) if y_star is None else tree_distance(y_final, y_star)
    ratio = window_ratio(final.q)
    drift = jnp.asarray(jnp.nan, dtype)
    if opt.conserved is not None:
        h = jnp.asarray(sol_ys[1], dtype)
        h0 = jnp.asarray(opt.conserved(y0), dtype)
        dev = jnp.where(jnp.isfinite(h), jnp.abs(h - h0), 0.0)
        drift = jnp.max(dev) / jnp.maximum(jnp.abs(h0), 1.0)
    outcome = classify(
        converged=converged,
        diverged=diverged,
        max_steps=hit_max,
        amplitude_ratio=ratio,
        cycle_rtol=opt.cycle_rtol,
        conserved_drift=drift if opt.conserved is not None else None,
        conserved_rtol=opt.conserved_rtol,
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
        steps=steps,
    )


_simulate = eqx.filter_jit(_solve)
