"""`gdgan.simulate` against oracles: conserved quantities, `expm` for linear games, scipy's
DOP853 for a nonlinear network game, known outcomes, and the JAX transformations."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest
from conftest import lq_state

import gdgan

TIGHT = dict(rtol=1e-11, atol=1e-11)


def linear_field(t, y, A):
    """y' = A y on the state {"disc": (2,), "gen": (2,)} (A passed as `args`)."""
    v = jnp.concatenate([y["disc"], y["gen"]])
    out = A @ v
    return {"disc": out[:2], "gen": out[2:]}


def vec_state(v):
    v = jnp.asarray(v, float)
    return {"disc": v[:2], "gen": v[2:]}


Y0 = vec_state([1.0, -0.5, 0.3, 0.8])


# -- conserved quantities ---------------------------------------------------------------------
def test_lq_wgan_conserves_H_and_cycles():
    r"""LQ WGAN ($\dot w = σ^2 - a^2$, $\dot a = 2wa$) from $(0, 1.5σ)$: $H = w^2 + a^2/2 -
    σ^2\ln|a|$ is a first integral ($\dot H = 2w(σ^2 - a^2) + (a - σ^2/a)\,2wa = 0$), so
    the orbit is closed and the outcome is `cycling`, with or without `conserved`."""
    s = gdgan.systems.get("lq", sigma=1.3, loss="wgan")
    out = gdgan.simulate(
        s.field(), s.init, 200.0, y_star=s.equilibrium, conserved=s.conserved, **TIGHT
    )
    H = jax.vmap(s.conserved)(out.ys)
    rel = jnp.max(jnp.abs(H - H[0])) / jnp.abs(H[0])
    assert rel <= 1e-8
    assert out.outcome == gdgan.Outcome.cycling
    assert out.outcome_name == "cycling"
    assert float(out.t_final) == 200.0 and int(out.steps) > 100
    assert out.conserved_drift <= 1e-8
    assert abs(float(out.amplitude_ratio) - 1) < 1e-3  # the amplitude test agrees


@pytest.mark.parametrize("eta", [0.1, 0.5])
def test_lq_wgan_penalty_converges(eta):
    r"""With `GradientPenalty(η)` the eigenvalues $-4ησ^2 \pm 2σ\sqrt{4η^2σ^2 - 1}$ have
    negative real part: the flow spirals into $(0, σ)$ and the steady-state event fires."""
    s = gdgan.systems.get("lq", loss="wgan")
    out = gdgan.simulate(
        s.field(gdgan.GradientPenalty(eta)),
        s.init,
        200.0,
        y_star=s.equilibrium,
        converge_tol=1e-9,
        **TIGHT,
    )
    assert out.outcome == gdgan.Outcome.converged
    assert out.distance <= 1e-6
    assert out.t_final < 200.0
    assert out.residual < 1e-8


def test_dirac_norm_conserved_and_decreasing_with_r1():
    r"""Dirac-GAN, $V = f(-ψθ)$: $\dot ψ = -θf'(-ψθ)$, $\dot θ = ψf'(-ψθ)$ so
    $\tfrac{d}{dt}(ψ^2 + θ^2) = 0$. R1 adds $-γψ$ to $\dot ψ$ ($\nabla_x D = ψ$ on the data
    point), so $\tfrac{d}{dt}(ψ^2 + θ^2) = -2γψ^2$: strictly decreasing between samples."""
    s = gdgan.systems.get("dirac")
    y0 = {"disc": {"psi": jnp.asarray(0.4)}, "gen": {"theta": jnp.asarray(1.0)}}
    out = gdgan.simulate(s.field(), y0, 30.0, n_save=301, **TIGHT)
    r2 = jax.vmap(s.conserved)(out.ys)
    assert jnp.max(jnp.abs(r2 - r2[0])) <= 1e-9 * r2[0]
    assert out.outcome == gdgan.Outcome.cycling

    reg = gdgan.simulate(s.field(gdgan.R1(1.0)), y0, 30.0, n_save=301, **TIGHT)
    r2 = np.asarray(jax.vmap(s.conserved)(reg.ys))
    r2 = r2[np.isfinite(r2)]
    assert r2.size > 20
    assert np.all(np.diff(r2) < 0)


# -- linear games against expm -----------------------------------------------------------------
def test_linear_game_matches_expm():
    r"""A bilinear-quadratic `ValueGame` $V = d^TBg + \tfrac12 d^TQd$ has the linear field
    $h = (Bg + Qd, -B^Td)$, i.e. $y' = Ay$ with $A = [[Q, B], [-B^T, 0]]$; the flow is
    $e^{At}y_0$."""
    B = jnp.array([[1.0, 0.3], [-0.2, 0.8]])
    Q = jnp.array([[-0.2, 0.05], [0.05, -0.1]])
    game = gdgan.ValueGame(lambda y: y["disc"] @ B @ y["gen"] + 0.5 * y["disc"] @ Q @ y["disc"])
    A = jnp.block([[Q, B], [-B.T, jnp.zeros((2, 2))]])
    ts = jnp.linspace(0.0, 8.0, 17)
    out = gdgan.simulate(gdgan.vector_field(game), Y0, 8.0, saveat=diffrax.SaveAt(ts=ts), **TIGHT)
    got = jnp.concatenate([out.ys["disc"], out.ys["gen"]], 1)
    v0 = jnp.concatenate([Y0["disc"], Y0["gen"]])
    want = jax.vmap(lambda t: jax.scipy.linalg.expm(A * t) @ v0)(ts)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9)
    # a custom callable field with `args`
    out2 = gdgan.simulate(linear_field, Y0, 8.0, saveat=diffrax.SaveAt(ts=ts), args=A, **TIGHT)
    np.testing.assert_allclose(out2.ys["disc"], out.ys["disc"], rtol=1e-9, atol=1e-10)


def test_ring_matches_scipy_dop853():
    """The (small) ring system with ReLU MLPs against scipy's DOP853 at rtol = atol = 1e-10
    over a short horizon (the ReLU field is discontinuous across kinks, which limits the
    agreement of two adaptive solvers to ~1e-8 and makes long horizons expensive)."""
    from jax.flatten_util import ravel_pytree
    from scipy.integrate import solve_ivp

    s = gdgan.systems.get("ring", width=8, latent_dim=4, n_samples=32)
    field = s.field()
    v0, unravel = ravel_pytree(s.init)
    f = jax.jit(lambda v: ravel_pytree(field(0.0, unravel(v), None))[0])
    ref = solve_ivp(
        lambda t, v: np.asarray(f(jnp.asarray(v))),
        (0.0, 0.1),
        np.asarray(v0),
        method="DOP853",
        rtol=1e-10,
        atol=1e-10,
    )
    assert ref.success
    out = gdgan.simulate(field, s.init, 0.1, saveat=diffrax.SaveAt(t1=True), **TIGHT)
    got = ravel_pytree(jax.tree_util.tree_map(lambda a: a[-1], out.ys))[0]
    np.testing.assert_allclose(got, ref.y[:, -1], rtol=0, atol=1e-7)
    assert np.max(np.abs(ref.y[:, -1] - np.asarray(v0))) > 3e-3  # it moved


# -- outcomes on systems with known answers -----------------------------------------------------
CENTRE = jnp.array([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 2], [0, 0, -2, 0]], float)
SPIRAL = CENTRE - 0.5 * jnp.eye(4)
NODE = jnp.diag(jnp.array([0.5, 1.0, 0.3, 0.7]))  # unstable node


@pytest.mark.parametrize(
    "A, expected",
    [(CENTRE, "cycling"), (SPIRAL, "converged"), (NODE, "diverged")],
    ids=["centre", "stable_spiral", "unstable_node"],
)
def test_outcome_of_linear_systems(A, expected):
    out = gdgan.simulate(linear_field, Y0, 60.0, args=A)
    assert out.outcome_name == expected
    assert out.outcome == getattr(gdgan.Outcome, expected)
    assert isinstance(gdgan.Outcome[out.outcome], str)


def test_outcome_blow_up():
    """y' = y² from y(0) = 1 blows up at t = 1: the divergence event fires just before."""

    def field(t, y, args):
        return {"disc": y["disc"] ** 2, "gen": jnp.zeros_like(y["gen"])}

    out = gdgan.simulate(field, {"disc": jnp.asarray(1.0), "gen": jnp.asarray(0.0)}, 5.0)
    assert out.outcome == gdgan.Outcome.diverged
    assert 0.99 < float(out.t_final) < 1.0


def test_outcome_max_steps_and_undecided():
    out = gdgan.simulate(linear_field, Y0, 60.0, args=CENTRE, max_steps=10, throw=False)
    assert out.outcome == gdgan.Outcome.max_steps
    slow = gdgan.simulate(linear_field, Y0, 60.0, args=CENTRE - 0.02 * jnp.eye(4))
    assert slow.outcome == gdgan.Outcome.undecided  # still spiralling in at t1


# -- transformations ---------------------------------------------------------------------------
def test_jit_equals_eager_and_no_retrace():
    traces = []

    def field(t, y, A):
        traces.append(1)
        return linear_field(t, y, A)

    eager = gdgan.simulate(field, Y0, 10.0, args=SPIRAL)
    n = len(traces)
    again = gdgan.simulate(field, vec_state([0.1, 0.2, 0.3, 0.4]), 60.0, args=SPIRAL)
    # new values of y0 and t1 do not recompile: the only new trace is the one abstract
    # evaluation (jax.eval_shape) of the structure check that runs on every call
    assert len(traces) == n + 1
    jitted = jax.jit(lambda y: gdgan.simulate(field, y, 10.0, args=SPIRAL).ys)(Y0)
    np.testing.assert_allclose(jitted["disc"], eager.ys["disc"], rtol=1e-12)
    assert again.outcome == gdgan.Outcome.converged


def test_vmap_over_y0_equals_loop():
    y0s = [Y0, vec_state([0.0, 1.0, 0.0, 0.0]), vec_state([2.0, 0.0, -1.0, 0.5])]
    batch = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *y0s)
    run = lambda y: gdgan.simulate(linear_field, y, 20.0, args=SPIRAL)  # noqa: E731
    vm = eqx.filter_vmap(run)(batch)
    for i, y in enumerate(y0s):
        one = run(y)
        assert int(vm.outcome._value[i]) == int(one.outcome._value)
        np.testing.assert_allclose(vm.y_final["gen"][i], one.y_final["gen"], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(vm.ts[i], one.ts)


def test_vmap_over_eta():
    s = gdgan.systems.get("lq", loss="wgan")
    etas = jnp.array([0.0, 0.5])
    out = eqx.filter_vmap(
        lambda e: gdgan.simulate(
            s.field(gdgan.GradientPenalty(e)), s.init, 50.0, y_star=s.equilibrium
        )
    )(etas)
    assert list(gdgan._simulate.outcome_name(out.outcome)) == ["cycling", "converged"]


def test_grad_wrt_eta_finite_and_matches_finite_differences():
    """d/dη of a final-state loss: finite through the events, and equal to central finite
    differences on a horizon where no event fires."""
    s = gdgan.systems.get("lq", loss="wgan")

    def loss(eta, t1):
        out = gdgan.simulate(
            s.field(gdgan.GradientPenalty(eta)), s.init, t1, saveat=diffrax.SaveAt(t1=True), **TIGHT
        )
        return out.y_final["gen"]["a"] ** 2 + out.y_final["disc"]["w"] ** 2

    g = jax.grad(loss)(0.3, 3.0)
    h = 1e-5
    fd = (loss(0.3 + h, 3.0) - loss(0.3 - h, 3.0)) / (2 * h)
    assert jnp.isfinite(g)
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    g_event = jax.grad(loss)(0.5, 200.0)  # converges: the steady-state event fires
    assert jnp.isfinite(g_event)


# -- input validation ------------------------------------------------------------------------
def test_errors_name_the_argument():
    s = gdgan.systems.get("lq", loss="wgan")
    with pytest.raises(ValueError, match="y0.*finite"):
        gdgan.simulate(s.field(), lq_state(0.0, jnp.nan), 1.0)
    with pytest.raises(ValueError, match="simulate: t1: expected a number greater than t0"):
        gdgan.simulate(s.field(), s.init, -1.0)
    with pytest.raises(ValueError, match="y0: expected a dict"):
        gdgan.simulate(s.field(), {"d": 1.0, "gen": 1.0}, 1.0)
    with pytest.raises(ValueError, match="field: must return the state's structure"):
        gdgan.simulate(lambda t, y, a: {"disc": y["disc"]}, s.init, 1.0)
    with pytest.raises(ValueError, match="rtol"):
        gdgan.simulate(s.field(), s.init, 1.0, rtol=-1.0)
    with pytest.raises(TypeError, match="saveat"):
        gdgan.simulate(s.field(), s.init, 1.0, saveat="t1")


# -- the carried derivative and window readings (`_Probe`) ------------------------------------
A_SPIRAL = jnp.array(
    [[-0.1, 1.0, 0.0, 0.0], [-1.0, -0.1, 0.0, 0.0], [0.0, 0.0, -0.2, 2.0], [0.0, 0.0, -2.0, -0.2]]
)
ORIGIN = {"disc": jnp.zeros(2), "gen": jnp.zeros(2)}


def _norm(tree):
    return jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(tree)))


def _hand_solve(A, t1, solver, tol, ctol):
    """What `simulate` replaces: a plain diffrax solve whose steady-state event evaluates the
    field again after every step, and whose quarter readings of $Q = \\int \\|y\\|^2$ are
    diffrax's own `SubSaveAt(ts=...)` interpolation."""

    def rhs(t, z, args):
        return linear_field(t, z[0], args), _norm(z[0]) ** 2

    quarters = t1 * jnp.asarray([0.25, 0.5, 0.75, 1.0])
    return diffrax.diffeqsolve(
        diffrax.ODETerm(rhs),
        solver,
        0.0,
        t1,
        None,
        (Y0, jnp.zeros(())),
        A,
        saveat=diffrax.SaveAt(
            subs=(
                diffrax.SubSaveAt(t1=True),
                diffrax.SubSaveAt(ts=quarters, fn=lambda t, z, a: z[1]),
            )
        ),
        stepsize_controller=diffrax.PIDController(
            rtol=tol, atol=tol, norm=lambda z: optx.rms_norm(z[0])
        ),
        event=diffrax.Event(
            {
                "converged": lambda t, z, a, **k: _norm(linear_field(t, z[0], a)) < ctol,
                "diverged": lambda t, z, a, **k: _norm(z[0]) > 1e6,
            }
        ),
        max_steps=100_000,
    )


SOLVERS = [diffrax.Tsit5(), diffrax.Dopri8(), diffrax.Heun(), diffrax.Kvaerno5()]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: type(s).__name__)
def test_carried_derivative_equals_the_event_solve(solver):
    r"""A stable spiral ($\dot y = Ay$, eigenvalues $-0.1 \pm i$, $-0.2 \pm 2i$) run to its
    steady state. `simulate` reads the convergence test off the derivative the step already
    computed (FSAL for Tsit5 and Dopri8; one evaluation per step for Heun; Kvaerno5 wrapped,
    with the controller's tolerances given to its root finder): the steps, the stopping time,
    the final state and the residual must equal a plain diffrax solve whose event evaluates
    the field (the same steps are taken, so to rounding)."""
    heun = isinstance(solver, diffrax.Heun)  # second order: looser tolerances
    tol, ctol = (1e-6, 1e-3) if heun else (1e-9, 1e-6)
    out = gdgan.simulate(
        linear_field,
        Y0,
        200.0,
        args=A_SPIRAL,
        solver=solver,
        rtol=tol,
        atol=tol,
        converge_tol=ctol,
        y_star=ORIGIN,
        saveat=diffrax.SaveAt(t1=True),
    )
    ref = _hand_solve(A_SPIRAL, 200.0, solver, tol, ctol)
    assert out.outcome == gdgan.Outcome.converged and ref.event_mask["converged"]
    assert int(out.steps) == int(ref.stats["num_accepted_steps"])
    np.testing.assert_allclose(float(out.t_final), float(ref.ts[0][-1]), rtol=1e-12)
    for a, b in zip(
        jax.tree_util.tree_leaves(out.y_final), jax.tree_util.tree_leaves(ref.ys[0][0])
    ):
        np.testing.assert_allclose(a, b[-1], rtol=1e-9, atol=1e-15)
    h = linear_field(0.0, out.y_final, A_SPIRAL)
    np.testing.assert_allclose(float(out.residual), float(_norm(h)), rtol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS[:3], ids=lambda s: type(s).__name__)
def test_window_readings_equal_diffrax_saves(solver):
    r"""A centre in one plane and a decaying spiral in the other ($\dot y = By$): the run
    reaches $t_1$, crossing all four quarters. The amplitude ratio `simulate` computes from
    $Q$ read inside the crossing steps (cubic Hermite from $Q$ and $\dot Q = r^2$ at the step's
    ends) must agree with the one from diffrax's `SubSaveAt` (the solver's own dense
    output) at the quarter times — two fourth-order interpolants, equal to well within the
    solver's tolerance — and both must be $\sqrt{\int_{3/4}^{1} r^2 / \int_{1/4}^{1/2} r^2}$
    of the closed form ($r^2 = ρ_1^2 + ρ_2^2 e^{-0.4 t}$, $ρ_i$ the initial radii per
    plane)."""
    B = A_SPIRAL.at[0, 0].set(0.0).at[1, 1].set(0.0)
    t1, tol = 20.0, 1e-10 if not isinstance(solver, diffrax.Heun) else 1e-7
    out = gdgan.simulate(
        linear_field,
        Y0,
        t1,
        args=B,
        solver=solver,
        rtol=tol,
        atol=tol,
        converge_tol=1e-12,
        y_star=ORIGIN,
        saveat=diffrax.SaveAt(t1=True),
    )
    ref = _hand_solve(B, t1, solver, tol, 1e-12)
    q = np.asarray(ref.ys[1])
    ratio_ref = np.sqrt((q[3] - q[2]) / (q[1] - q[0]))
    np.testing.assert_allclose(float(out.amplitude_ratio), ratio_ref, rtol=100 * tol)
    r1, r2 = float(jnp.sum(Y0["disc"] ** 2)), float(jnp.sum(Y0["gen"] ** 2))

    def integral(a, b):  # of r1 + r2 exp(-0.4 t) over [a, b]
        return r1 * (b - a) + r2 * (np.exp(-0.4 * a) - np.exp(-0.4 * b)) / 0.4

    exact = np.sqrt(integral(0.75 * t1, t1) / integral(0.25 * t1, 0.5 * t1))
    np.testing.assert_allclose(
        float(out.amplitude_ratio), exact, rtol=10 * tol if tol > 1e-9 else 1e-7
    )


def test_convergence_test_costs_no_field_evaluation():
    """Tsit5 takes 6 field evaluations per step (first same as last); the steady-state test
    reuses the last one, so a run costs at most 6 per step attempted plus a few at the start
    (initial step size, the initial derivative), not 7 per step as with an event that
    evaluates the field. Counted at run time with a host callback."""
    calls = []

    def field(t, y, args):
        jax.debug.callback(lambda: calls.append(1))
        return linear_field(t, y, A_SPIRAL)

    out = gdgan.simulate(field, Y0, 50.0, rtol=1e-9, atol=1e-9, saveat=diffrax.SaveAt(t1=True))
    jax.effects_barrier()
    attempted = int(out.solution.stats["num_steps"])
    assert attempted > 50
    assert len(calls) <= 6 * attempted + 4, (len(calls), attempted)


def test_implicit_solver_with_a_constant_step_needs_tolerances():
    with pytest.raises(gdgan.InputError, match="solver: an implicit solver"):
        gdgan.simulate(
            linear_field,
            Y0,
            1.0,
            args=A_SPIRAL,
            solver=diffrax.Kvaerno5(),
            stepsize_controller=diffrax.ConstantStepSize(),
            dt0=0.1,
        )


@pytest.mark.parametrize(
    "saveat",
    [
        diffrax.SaveAt(ts=jnp.linspace(0.0, 200.0, 7), t1=True),
        diffrax.SaveAt(t0=True, ts=jnp.linspace(0.0, 200.0, 5)),
        diffrax.SaveAt(steps=True, t1=True),
    ],
    ids=["ts+t1", "t0+ts", "steps+t1"],
)
def test_saves_after_an_early_stop_are_diffrax_events(saveat):
    """A run that converges early (the stable spiral): its saves must be what a plain diffrax
    solve with a terminating event gives — the same times and states before the stop, `inf`
    after it, the `t1` save at the stopping time right after the last one before it."""
    kw = dict(rtol=1e-9, atol=1e-9, max_steps=4096)
    out = gdgan.simulate(
        linear_field, Y0, 200.0, args=A_SPIRAL, converge_tol=1e-6, saveat=saveat, **kw
    )
    ref = diffrax.diffeqsolve(
        diffrax.ODETerm(linear_field),
        diffrax.Tsit5(),
        0.0,
        200.0,
        None,
        Y0,
        A_SPIRAL,
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-9),
        event=diffrax.Event(lambda t, y, a, **k: _norm(linear_field(t, y, a)) < 1e-6),
        max_steps=4096,
    )
    assert out.outcome == gdgan.Outcome.converged and float(out.t_final) < 150.0
    np.testing.assert_array_equal(np.isinf(out.ts), np.isinf(ref.ts))
    np.testing.assert_allclose(out.ts, ref.ts, rtol=1e-12)
    for a, b in zip(jax.tree_util.tree_leaves(out.ys), jax.tree_util.tree_leaves(ref.ys)):
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)


def test_step_ts_controller_measures_the_error_on_the_state_only():
    """`PIDController(..., jump_ts=...)` is a `ClipStepSizeController` around a PID: its error
    must be measured on $y$ alone, as the plain PID's is (not on the carried amplitude
    integral, nor diluted by the carried quantities), so before the first jump time it takes
    exactly the plain controller's steps."""
    s = gdgan.systems.get("lq", loss="wgan")
    field = s.field(gdgan.GradientPenalty(0.3))
    runs = [
        gdgan.simulate(
            field, s.init, 30.0, stepsize_controller=c, saveat=diffrax.SaveAt(steps=True)
        )
        for c in (
            diffrax.PIDController(rtol=1e-8, atol=1e-8),
            diffrax.PIDController(rtol=1e-8, atol=1e-8, jump_ts=jnp.array([5.0])),
        )
    ]
    before = [np.asarray(r.ts)[np.asarray(r.ts) < 5.0] for r in runs]
    assert len(before[0]) > 20
    np.testing.assert_array_equal(before[0], before[1])
