r"""The compiled part of a sweep: one chunk of runs (vmapped per-trajectory solves, the
shared-step batch solve, or discrete-time training) and the spectra at the grid points.

Compiled functions are module-level `eqx.filter_jit`s of an `_Options` module and the
chunk's arrays, so the compile cache is keyed on what determines the program — the
problem's structure (the static part of the pytree `make` builds), the static
configuration, shapes and dtypes — not on the identity of `make`: a fresh lambda that
builds the same structure reuses the compiled chunk.
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jax.sharding import PartitionSpec as P

from .._analysis import stability
from .._results import enum_code
from .._simulate import (
    _QUARTERS,
    _W,
    Outcome,
    _hermite_quarters,
    _OnW,
    _Probe,
    _probe,
    _solve,
    classify,
    window_ratio,
)
from .._simulate import _Options as _SimOptions
from .._train import discrete_stability, train
from .._tree import ravel_arrays
from ._problem import Problem, optimizer_for, unconst


class Options(eqx.Module):
    """Everything a compiled chunk needs besides the problems, grid values and offsets."""

    t1: jax.Array
    rtol: jax.Array
    atol: jax.Array
    converge_tol: jax.Array
    diverge_norm: jax.Array
    cycle_rtol: jax.Array
    center: Any
    tstatic: Any
    solver: Any
    template: Any = eqx.field(static=True)
    spec: Any = eqx.field(static=True)  # builds the problem under jit (fallback), else None
    optimizer: Any = eqx.field(static=True)
    mesh: Any = eqx.field(static=True)
    discrete: bool = eqx.field(static=True)
    mode: str = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    order: str = eqx.field(static=True)
    disc_steps: int = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)
    n_check: int = eqx.field(static=True)
    do_spectrum: bool = eqx.field(static=True)
    do_spectrum_grid: bool = eqx.field(static=True)
    spectrum_tol: float = eqx.field(static=True)
    relative: bool = eqx.field(static=True)

    @property
    def dtype(self):
        return self.t1.dtype

    def unravel(self, v):
        treedef, leaves = self.template
        zeros = jax.tree_util.tree_unflatten(treedef, [jnp.zeros(s.shape, s.dtype) for s in leaves])
        return eqx.combine(ravel_pytree(zeros)[1](v), self.tstatic)

    def flat(self, y):
        return ravel_arrays(y).astype(self.dtype)

    def problem(self, pr, p) -> Problem:
        return self.spec.problem(p) if pr is None else unconst(pr)

    def y0(self, pr, v):
        if not self.relative:
            return self.unravel(v)
        if self.center is not None:
            centre = self.center
        elif pr.equilibria:
            centre = pr.equilibria[0]
        else:
            centre = pr.base
        return self.unravel(self.flat(centre) + v)


def _norm(x):
    """Euclidean norm whose rounding does not depend on the batch width: the squares are
    kept out of XLA's fusion (no fused multiply-add), so results are bitwise the same on
    1 or 8 devices and for any chunk size."""
    return jnp.sqrt(jnp.sum(jax.lax.optimization_barrier(jnp.square(x))))


def _post(opt, pr, v_final, residual=None):
    """residual (unless given), distance, nearest, verdict, max_real at a final state."""
    finite = jnp.all(jnp.isfinite(v_final))
    y = opt.unravel(jnp.where(finite, v_final, 0.0))
    if residual is None:
        residual = _norm(opt.flat(pr.field(0.0, y, None)))
    residual = jnp.where(finite, residual, jnp.nan)
    if pr.equilibria:
        dist = jnp.stack([_norm(v_final - opt.flat(e)) for e in pr.equilibria])
        dist = jnp.where(jnp.isfinite(dist), dist, jnp.inf)
        nearest = jnp.where(finite, jnp.argmin(dist).astype(jnp.int32), -1)
        distance = jnp.where(finite, jnp.min(dist), jnp.nan)
    else:
        distance, nearest = jnp.asarray(jnp.nan, opt.dtype), jnp.asarray(-1, jnp.int32)
    if opt.do_spectrum:
        rep = stability(pr.field, y, tol=opt.spectrum_tol)
        verdict, max_real = enum_code(rep.verdict).astype(jnp.int32), rep.max_real
    else:
        verdict, max_real = jnp.asarray(-1, jnp.int32), jnp.asarray(jnp.nan, opt.dtype)
    return residual, distance, nearest, verdict, max_real


def _finish(opt, pr, outcome, v0, v_final, t_final, n_steps, t_conv, residual=None):
    residual, distance, nearest, verdict, max_real = _post(opt, pr, v_final, residual)
    conv = outcome == enum_code(Outcome.converged)
    return {
        "outcome": outcome.astype(jnp.int32),
        "y0": v0,
        "y_final": v_final,
        "t_final": jnp.asarray(t_final, opt.dtype),
        "steps": jnp.asarray(n_steps).astype(jnp.int32),
        "t_converge": jnp.where(conv, jnp.asarray(t_conv, opt.dtype), jnp.nan),
        "residual": residual,
        "distance": distance,
        "nearest": nearest,
        "verdict": jnp.where(conv, verdict, -1),
        "max_real": jnp.where(conv, max_real, jnp.nan),
    }


def _sim_options(opt):
    dt = opt.dtype
    return _SimOptions(
        t0=jnp.zeros((), dt),
        t1=opt.t1,
        rtol=opt.rtol,
        atol=opt.atol,
        converge_tol=opt.converge_tol,
        diverge_norm=opt.diverge_norm,
        conserved_rtol=jnp.ones((), dt),
        cycle_rtol=opt.cycle_rtol,
        saveat=diffrax.SaveAt(t1=True),
        solver=opt.solver,
        adjoint=diffrax.ForwardMode(),
        n_save=4,
        n_check=opt.n_check,
        max_steps=opt.max_steps,
        throw=False,
    )


def _run_simulate(opt, pr, p, v):
    """One trajectory: exactly `gdgan.simulate(..., saveat=SaveAt(t1=True))`, its residual
    the norm of the derivative the solve carries (no further evaluation of the field). The
    state stays a pytree: flattened to one array, its leaves would be sliced out and stacked
    again at every field evaluation (20 % slower on the penalised LQ WGAN)."""
    pr = opt.problem(pr, p)
    y0 = opt.y0(pr, v)
    y_star = pr.equilibria[0] if pr.equilibria else None
    res = _solve(pr.field, y0, None, y_star, _sim_options(opt))
    vf = opt.flat(res.y_final)
    return _finish(
        opt,
        pr,
        enum_code(res.outcome),
        opt.flat(y0),
        vf,
        res.t_final,
        res.steps,
        res.t_final,
        res.residual,
    )


def _run_train(opt, pr, p, v):
    pr = opt.problem(pr, p)
    y0 = opt.y0(pr, v)
    res = train(
        pr.game,
        y0,
        optimizer_for(opt.optimizer, p),
        opt.steps,
        order=opt.order,
        disc_steps=opt.disc_steps,
        regularizers=pr.regularizers,
        stride=max(1, opt.steps // 256),
        y_star=pr.equilibria[0] if pr.equilibria else None,
        converge_tol=opt.converge_tol,
        diverge_norm=opt.diverge_norm,
        cycle_rtol=opt.cycle_rtol,
    )
    r = jnp.sqrt(res.grad_norm_disc**2 + res.grad_norm_gen**2)
    below = r < opt.converge_tol
    t_conv = jnp.where(jnp.any(below), jnp.argmax(below), jnp.nan)
    return _finish(
        opt,
        pr,
        enum_code(res.outcome),
        opt.flat(y0),
        opt.flat(res.y_final),
        opt.steps,
        opt.steps,
        t_conv,
    )


class _RunNorm(eqx.Module):
    """The controller's norm for the batch: each run's RMS error (what it would be alone),
    maximised over the runs; the carried parts excluded (of $w$, or of $Y$ itself)."""

    def __call__(self, w):
        Y = w.z if isinstance(w, _W) else w
        return jnp.max(jnp.sqrt(jnp.mean(jnp.square(Y), axis=1)))


class _BatchProbe(_Probe):
    r"""`_Probe` for the shared-step sweep, $z = Y$, the `(runs, d)` states. A run is active
    until the accepted step that ends converged, diverged or non-finite — the test `simulate`
    makes, on the derivative the solver already has (FSAL) — and then frozen: `t_stop`
    records that step's end, and from the next step on the term (given the mask of active
    runs as its `args`) returns zero for it, so its row neither moves nor counts in the
    error. The mask is constant within a step. $Q = \int r^2$ is carried per run rather than
    integrated, so the state has the runs' columns only: each step adds $\int r^2$ over it
    by the corrected trapezoid rule $\frac h2 (r_0^2 + r_1^2) + \frac{h^2}{12}
    (\dot{(r^2)}_0 - \dot{(r^2)}_1)$, with $\dot{(r^2)} = 2 (Y - Y^*) \cdot H$ (fourth order;
    without an equilibrium $r = \|H\|$, whose derivative is not at hand: the plain trapezoid
    rule, second order)."""

    ystar: Any = None
    ctol: Any = None
    bound: Any = None

    def init(self, terms, t0, t1, w0, args):
        return self.solver.init(self.term, t0, t1, w0.z, jnp.isinf(w0.t_stop))

    def func(self, terms, t0, w0, args):
        return w0.zero_carried(self.solver.func(self.term, t0, w0.z, jnp.isinf(w0.t_stop)))

    def step(self, terms, t0, t1, w0, args, solver_state, made_jump):
        on = jnp.isinf(w0.t_stop)
        Y1, err, dense, state, result = self.solver.step(
            self.term, t0, t1, w0.z, on, solver_state, made_jump
        )
        fsal = self.fsal(state)
        H1 = state[1] if fsal else self.solver.func(self.term, t1, Y1, on)
        (r0, dr0), (r1, dr1), h = self.r2(w0.z, w0.dz), self.r2(Y1, H1), t1 - t0
        Q1 = jnp.where(on, w0.Q + h / 2 * (r0 + r1) + h**2 / 12 * (dr0 - dr1), w0.Q)
        q1 = _hermite_quarters(self.quarters, t0, t1, w0.Q, Q1, r0, r1, w0.q)
        t_stop, H1_on = self.freeze(t1, Y1, H1, w0.t_stop)
        # w keeps each run's last derivative (at its stop: its residual); the solver, zero
        dz = jnp.where(on[:, None], H1, w0.dz)
        w1 = _W(Y1, jnp.where(on, q1, w0.q), dz, t_stop, Q=Q1)
        state = (state[0], H1_on) if fsal else state
        return w1, w1.zero_carried(err), dict(inner=dense, w0=w0, frozen=False), state, result

    def r2(self, Y, H):
        """$r^2$ per run and its time derivative."""
        if self.ystar is None:
            return jnp.sum(jnp.square(H), axis=1), 0.0
        e = Y - self.ystar
        return jnp.sum(jnp.square(e), axis=1), 2 * jnp.sum(e * H, axis=1)

    def freeze(self, t, Y, H, t_stop):
        """The stopping times and derivatives once the runs that end converged or diverged
        at `t` (state `Y`, derivative `H`) are stopped there."""
        r2h = jnp.sum(jnp.square(H), axis=1)
        nrm = jnp.linalg.norm(Y, axis=1)
        on = jnp.isinf(t_stop)
        still = on & (r2h >= self.ctol**2) & jnp.isfinite(r2h)
        still = still & jnp.isfinite(nrm) & (nrm <= self.bound)
        return jnp.where(still | ~on, t_stop, t), jnp.where(still[:, None], H, 0.0)


def batch_solve(
    rhs, Y0, Ystar, t1, *, rtol, atol, converge_tol, diverge_norm, solver=None, max_steps
):
    """The shared-step solve of `rhs(t, Y, on)` (`on`: the mask of active runs, or `None`)
    from the `(runs, d)` states `Y0` over $[0, t_1]$ (`Ystar`: the runs' equilibria, or
    `None`); diffrax's solution, its final state a `_W`."""
    dt = Y0.dtype
    n = Y0.shape[0]
    t0 = jnp.zeros((), dt)
    quarters = t0 + (t1 - t0) * jnp.asarray(_QUARTERS, dt)
    controller = diffrax.PIDController(rtol=rtol, atol=atol, norm=_RunNorm())
    probe = _probe(
        diffrax.Tsit5() if solver is None else solver,
        controller,
        rhs,
        quarters,
        q_of=None,
        cls=_BatchProbe,
        ystar=Ystar,
        ctol=converge_tol,
        bound=diverge_norm,
    )
    q = jnp.full((len(_QUARTERS), n), jnp.inf, dt)
    # runs that start finished stop at t0
    dz0 = rhs(t0, Y0, None)
    t_stop, _ = probe.freeze(t0, Y0, dz0, jnp.full((n,), jnp.inf, dt))
    w0 = _W(Y0, q, dz0, t_stop, Q=jnp.zeros((n,), dt))
    return diffrax.diffeqsolve(
        diffrax.ODETerm(_OnW(rhs)),
        probe,
        t0,
        t1,
        None,
        w0,
        None,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
        adjoint=diffrax.ForwardMode(),
    )


def _run_batch(opt, Pb, params, V):
    r"""The chunk as one state with one shared step (`_BatchProbe`): the runs' states, one
    row each, one array rather than a tuple, so that the solver's stage arithmetic is one
    fused loop per stage."""
    if Pb is None:  # built under jit from `make` (fallback), one per run
        prs = eqx.filter_vmap(lambda p: opt.problem(None, p))(params)
    else:
        prs = Pb

    def vmap(f, *rest):  # over the runs; the problem's constants unwrapped inside
        return eqx.filter_vmap(lambda pr, *a: f(unconst(pr), *a), in_axes=(eqx.if_array(0), *rest))

    Y0 = vmap(lambda pr, v: opt.flat(opt.y0(pr, v)), 0)(prs, V)

    def h_one(pr, y):
        return opt.flat(pr.field(0.0, opt.unravel(y), None))

    def rhs(t, Y, on):  # on: the active runs (None: all, for diffeqsolve's own checks)
        H = vmap(h_one, 0)(prs, Y)
        return H if on is None else jnp.where(on[:, None], H, 0.0)

    Ystar = vmap(lambda pr, v: opt.flat(pr.equilibria[0]), 0)(prs, V) if prs.equilibria else None
    bound = opt.diverge_norm
    sol = batch_solve(
        rhs,
        Y0,
        Ystar,
        opt.t1,
        rtol=opt.rtol,
        atol=opt.atol,
        converge_tol=opt.converge_tol,
        diverge_norm=bound,
        solver=opt.solver,
        max_steps=opt.max_steps,
    )
    Yf, q, t_stop = sol.ys.z[-1], sol.ys.q[-1], sol.ys.t_stop[-1]
    tau = jnp.where(jnp.isfinite(t_stop), t_stop, sol.ts[-1])  # stopping time, or time reached
    hit_max = sol.result == diffrax.RESULTS.max_steps_reached
    ok = sol.result == diffrax.RESULTS.successful
    rf = jnp.linalg.norm(sol.ys.dz[-1], axis=1)  # at each run's last state
    nf = jnp.linalg.norm(Yf, axis=1)
    diverged = ~jnp.isfinite(nf) | (nf > bound) | (~ok & ~hit_max)
    converged = (rf < opt.converge_tol) & ~diverged
    ratio = window_ratio(q.T)
    outcome = jax.vmap(
        lambda c, dv, a: enum_code(
            classify(
                converged=c,
                diverged=dv,
                max_steps=hit_max & ~c & ~dv,
                amplitude_ratio=a,
                cycle_rtol=opt.cycle_rtol,
            )
        )
    )(converged, diverged, ratio)
    n_steps = jnp.broadcast_to(sol.stats["num_accepted_steps"], outcome.shape)
    t_final = jnp.where(converged | diverged, tau, jnp.where(hit_max, jnp.nan, opt.t1))

    def finish(pr, o, v0, vf, tf, ns, r):
        return _finish(opt, pr, o, v0, vf, tf, ns, tf, r)

    return vmap(finish, 0, 0, 0, 0, 0, 0)(prs, outcome, Y0, Yf, t_final, n_steps, rf)


@eqx.filter_jit
def run_chunk(opt: Options, problems, params, V):
    """The results of one chunk (dict of arrays with a leading run axis); `problems` from
    `_problem.structural` (or `None`: built here from `opt.spec`)."""
    if opt.mode == "batch" and not opt.discrete:
        return _run_batch(opt, problems, params, V)
    one = _run_train if opt.discrete else _run_simulate
    arrays, static = eqx.partition(problems, eqx.is_array)

    def body(arrays, params, V):
        return jax.vmap(lambda a, p, v: one(opt, eqx.combine(a, static), p, v))(arrays, params, V)

    if opt.mesh.size == 1:  # one device: no sharding to trace and compile
        return body(arrays, params, V)
    return jax.shard_map(
        body, mesh=opt.mesh, in_specs=P("runs"), out_specs=P("runs"), check_vma=False
    )(arrays, params, V)


def _grid_one(opt, pr, p):
    pr = opt.problem(pr, p)
    nan = jnp.asarray(jnp.nan, opt.dtype)
    if not pr.equilibria or not opt.do_spectrum_grid:
        return jnp.asarray(-1, jnp.int32), nan, nan, nan
    if opt.discrete:
        rep = discrete_stability(
            pr.field,
            pr.equilibria[0],
            optimizer_for(opt.optimizer, p),
            order=opt.order,
            disc_steps=opt.disc_steps,
            tol=opt.spectrum_tol,
        )
        return enum_code(rep.verdict).astype(jnp.int32), nan, rep.spectral_radius, nan
    rep = stability(pr.field, pr.equilibria[0], tol=opt.spectrum_tol)
    return (
        enum_code(rep.verdict).astype(jnp.int32),
        rep.max_real,
        nan,
        jnp.asarray(rep.max_stable_step, opt.dtype),
    )


@eqx.filter_jit
def run_grid(opt: Options, problems, params, index):
    """Spectra at the equilibrium of each grid point of a batch (`index`: one entry per
    point, so that the batch axis exists even without grid names)."""
    return eqx.filter_vmap(lambda pr, p, _: _grid_one(opt, pr, p), in_axes=(eqx.if_array(0), 0, 0))(
        problems, params, index
    )
