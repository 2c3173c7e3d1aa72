"""`gdgan.train` and the discrete-step stability API against closed forms."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import lq_state

import gdgan


def lq(loss="wgan"):
    return gdgan.systems.get("lq", loss=loss)


def dist(y, y_star):
    return float(
        jnp.sqrt(
            (y["disc"]["w"] - y_star["disc"]["w"]) ** 2 + (y["gen"]["a"] - y_star["gen"]["a"]) ** 2
        )
    )


# -- trajectories ----------------------------------------------------------------------------
def test_sgd_tracks_the_ode_with_error_of_order_alpha():
    r"""Simultaneous SGD is forward Euler on $\dot θ = h(θ)$: after $T/α$ steps the global
    error is $O(α)$, so halving α halves it (LQ WGAN with the gradient penalty, T = 2)."""
    s = lq()
    field = s.field(gdgan.GradientPenalty(0.5))
    y0 = lq_state(0.3, 1.4)
    ode = gdgan.simulate(field, y0, 2.0, saveat=diffrax.SaveAt(t1=True), rtol=1e-12, atol=1e-12)
    ref = jax.tree_util.tree_map(lambda a: a[-1], ode.ys)
    errs = []
    for alpha in (0.01, 0.005):
        out = gdgan.train(
            s.game,
            y0,
            optax.sgd(alpha),
            round(2.0 / alpha),
            regularizers=[gdgan.GradientPenalty(0.5)],
        )
        errs.append(dist(out.y_final, ref))
    assert errs[0] < 0.05
    for a, b in zip(errs, errs[1:]):
        assert 1.8 < a / b < 2.2


@pytest.mark.parametrize("alpha", [0.002, 0.01, 0.05])
def test_sgd_spirals_out_of_the_wgan_centre(alpha):
    r"""Unregularised LQ WGAN: $I + αJ$ has eigenvalues $1 \pm 2σαi$ of modulus
    $\sqrt{1 + 4σ^2α^2} > 1$ for every α > 0, so simultaneous SGD spirals outward. Along
    the nonlinear orbit, $H = w^2 + a^2/2 - σ^2\ln|a|$ (constant under the flow) grows at
    every Euler step by $\tfrac{α^2}{2} h^T \nabla^2 H h + O(α^3) > 0$ ($\nabla^2 H =
    \mathrm{diag}(2, 1 + σ^2/a^2) \succ 0$): the iterates cross the closed orbits outward."""
    s = lq()
    out = gdgan.train(
        s.game, lq_state(0.0, 1.05), optax.sgd(alpha), 300, stride=10, y_star=s.equilibrium
    )
    H = np.asarray(jax.vmap(s.conserved)(out.ys))
    assert np.all(np.diff(H) > 0)  # every saved iterate lies outside the previous orbit
    if alpha >= 0.01:  # over at least one period (2π/2σ), the distance itself has grown
        d = np.array(
            [
                dist(jax.tree_util.tree_map(lambda a: a[i], out.ys), s.equilibrium)
                for i in range(out.ts.shape[0])
            ]
        )
        assert d[-10:].max() > d[:10].max()
    rep = gdgan.discrete_stability(s.field(), s.equilibrium, optax.sgd(alpha))
    np.testing.assert_allclose(rep.spectral_radius, np.sqrt(1 + 4 * alpha**2), rtol=1e-12)
    assert rep.verdict == gdgan.Verdict.unstable


@pytest.mark.parametrize(
    "opt",
    [gdgan.extragradient(0.05), optax.optimistic_gradient_descent(0.05)],
    ids=["extragradient", "optimistic"],
)
def test_extragradient_and_optimistic_converge_on_the_wgan(opt):
    s = lq()
    y0 = lq_state(0.0, 1.2)
    out = gdgan.train(s.game, y0, opt, 3000, y_star=s.equilibrium, stride=100)
    assert float(out.distance) < 1e-3 * dist(y0, s.equilibrium)
    rep = gdgan.discrete_stability(s.field(), s.equilibrium, opt)
    assert rep.verdict == gdgan.Verdict.stable


def test_alternating_dirac_stays_bounded():
    """Alternating SGD on the Dirac-GAN has a determinant-1 step (see `discrete_stability`):
    the iterates neither converge nor escape, unlike simultaneous SGD."""
    s = gdgan.systems.get("dirac", loss="wgan")
    y0 = {"disc": {"psi": jnp.asarray(0.0)}, "gen": {"theta": jnp.asarray(1.0)}}
    alt = gdgan.train(s.game, y0, optax.sgd(0.1), 2000, order="alternating", stride=50)
    sim = gdgan.train(s.game, y0, optax.sgd(0.1), 2000, stride=50)
    r_alt = jax.vmap(s.conserved)(alt.ys)
    r_sim = jax.vmap(s.conserved)(sim.ys)
    assert 0.8 < float(r_alt.min()) and float(r_alt.max()) < 1.3
    assert float(r_sim[-1]) > 1e4


# -- logs, history, batches ------------------------------------------------------------------
def test_history_logs_and_stride():
    s = lq()
    out = gdgan.train(
        s.game,
        s.init,
        optax.adam(0.01),
        1005,
        stride=10,
        order="alternating",
        disc_steps=2,
        regularizers=[gdgan.GradientPenalty(0.5)],
    )
    assert out.ts.shape == (102,) and int(out.ts[-1]) == 1005 and int(out.ts[1]) == 10
    assert out.ys["gen"]["a"].shape == (102,)
    np.testing.assert_allclose(out.ys["gen"]["a"][-1], out.y_final["gen"]["a"])
    assert out.grad_norm_disc.shape == out.grad_norm_gen.shape == out.value.shape == (1005,)
    # step 0 logs the initial iterate: |∇_w V| = |σ² - a²|, |∇_a V| = |2wa|, V = w(σ² - a²)
    w, a = s.init["disc"]["w"], s.init["gen"]["a"]
    np.testing.assert_allclose(out.grad_norm_disc[0], abs(1 - a**2), rtol=1e-10)
    np.testing.assert_allclose(out.grad_norm_gen[0], abs(2 * w * a), atol=1e-12)
    np.testing.assert_allclose(out.value[0], w * (1 - a**2), atol=1e-12)
    assert out.opt_state["disc"] is not out.opt_state["gen"]


def test_minibatches(key):
    s = lq()
    kw = dict(batch=64, stride=50, regularizers=[gdgan.GradientPenalty(0.5)])
    a = gdgan.train(s.game, s.init, optax.sgd(0.02), 500, key=key, **kw)
    b = gdgan.train(s.game, s.init, optax.sgd(0.02), 500, key=key, **kw)
    c = gdgan.train(s.game, s.init, optax.sgd(0.02), 500, key=jax.random.PRNGKey(7), **kw)
    np.testing.assert_array_equal(a.ys["gen"]["a"], b.ys["gen"]["a"])
    assert not np.allclose(a.ys["gen"]["a"], c.ys["gen"]["a"])
    assert np.all(np.isfinite(a.value))
    assert 0.7 < float(a.y_final["gen"]["a"]) < 1.3  # near σ = 1 up to minibatch noise


def test_dict_optimizer_and_linear_step_matches_update_jacobian():
    """For a linear field one step from y* + δ is exactly y* + Mδ (momentum state starts at
    its fixed point 0), with per-player learning rates."""
    B = jnp.array([[1.0, 0.3], [-0.2, 0.8]])
    game = gdgan.ValueGame(lambda y: y["disc"] @ B @ y["gen"] - 0.1 * y["disc"] @ y["disc"])
    y_star = {"disc": jnp.zeros(2), "gen": jnp.zeros(2)}
    delta = {"disc": jnp.array([0.1, -0.2]), "gen": jnp.array([0.3, 0.05])}
    opt = {"disc": optax.sgd(0.1, momentum=0.5), "gen": optax.sgd(0.05, momentum=0.5)}
    for order in ("simultaneous", "alternating"):
        out = gdgan.train(game, delta, opt, 1, order=order)
        M, _ = gdgan.update_jacobian(game, y_star, opt, order=order)
        v = jnp.concatenate([delta["disc"], delta["gen"]])
        want = M[:4, :4] @ v
        got = jnp.concatenate([out.y_final["disc"], out.y_final["gen"]])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# -- discrete stability: closed forms -----------------------------------------------------------
@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_sgd_operator_is_I_plus_alpha_J(loss):
    s = lq(loss)
    field = s.field(gdgan.GradientPenalty(0.3))
    J = gdgan.jacobian(field, s.equilibrium)
    rep = gdgan.stability(field, s.equilibrium)
    for alpha in (0.05, 0.9 * float(rep.max_stable_step), 1.1 * float(rep.max_stable_step)):
        M, rho = gdgan.update_jacobian(field, s.equilibrium, optax.sgd(alpha))
        np.testing.assert_allclose(M, jnp.eye(2) + alpha * J, rtol=1e-12, atol=1e-14)
        eig = jnp.linalg.eigvals(jnp.eye(2) + alpha * J)
        np.testing.assert_allclose(rho, jnp.max(jnp.abs(eig)), rtol=1e-12)
        stable = gdgan.discrete_stability(field, s.equilibrium, optax.sgd(alpha)).verdict
        expect = gdgan.Verdict.stable if alpha < rep.max_stable_step else gdgan.Verdict.unstable
        assert stable == expect
    # the game itself (with regularizers) gives the same operator
    M2, _ = gdgan.update_jacobian(
        s.game, s.equilibrium, optax.sgd(0.05), regularizers=[gdgan.GradientPenalty(0.3)]
    )
    np.testing.assert_allclose(M2, jnp.eye(2) + 0.05 * J, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss, c", [("gan", 0.5), ("wgan", 1.0)])
@pytest.mark.parametrize("k", [1, 2])
def test_alternating_operator_dirac_closed_form(loss, c, k):
    r"""Dirac-GAN linearised at 0: $h = (-cθ, cψ)$ with $c = f'(0)$. Alternating SGD with k
    discriminator steps: $ψ_k = ψ - kαcθ$ (h_ψ does not depend on ψ), then
    $θ' = θ + αcψ_k$, so $M = [[1, -kαc], [αc, 1 - kα^2c^2]]$, $\det M = 1$."""
    s = gdgan.systems.get("dirac", loss=loss)
    alpha = 0.3
    rep = gdgan.discrete_stability(
        s.field(), s.equilibrium, optax.sgd(alpha), order="alternating", disc_steps=k
    )
    want = jnp.array([[1.0, -k * alpha * c], [alpha * c, 1 - k * alpha**2 * c**2]])
    np.testing.assert_allclose(rep.jacobian, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rep.spectral_radius, 1.0, rtol=1e-12)
    assert rep.verdict == gdgan.Verdict.marginal


def test_stateful_operators_closed_forms():
    r"""With $J$ the field's Jacobian and α the step: momentum β (optax trace,
    $m' = g + βm$, $θ' = θ - αm'$, $g = -h$): $[[I + αJ, -αβI], [-J, βI]]$;
    extragradient: $I + αJ + α^2J^2$; optax optimistic ($u = (a+b)g - b g_{prev}$):
    $[[I + α(a+b)J, αbI], [-J, 0]]$."""
    s = lq("gan")
    field = s.field(gdgan.GradientPenalty(0.2))
    J = gdgan.jacobian(field, s.equilibrium)
    I = jnp.eye(2)
    a, beta = 0.1, 0.7
    M, _ = gdgan.update_jacobian(field, s.equilibrium, optax.sgd(a, momentum=beta))
    np.testing.assert_allclose(
        M, jnp.block([[I + a * J, -a * beta * I], [-J, beta * I]]), rtol=1e-12, atol=1e-14
    )
    M, _ = gdgan.update_jacobian(field, s.equilibrium, gdgan.extragradient(a))
    np.testing.assert_allclose(M, I + a * J + a**2 * J @ J, rtol=1e-12, atol=1e-14)
    M, _ = gdgan.update_jacobian(
        field, s.equilibrium, optax.optimistic_gradient_descent(a, alpha=1.0, beta=0.5)
    )
    np.testing.assert_allclose(
        M, jnp.block([[I + 1.5 * a * J, 0.5 * a * I], [-J, 0 * I]]), rtol=1e-12, atol=1e-14
    )
    rep = gdgan.discrete_stability(field, s.equilibrium, optax.sgd(a, momentum=beta))
    assert rep.n_params == 2 and rep.jacobian.shape == (4, 4)
    assert jnp.all(jnp.abs(rep.eigenvalues[:-1]) >= jnp.abs(rep.eigenvalues[1:]))


# -- errors -------------------------------------------------------------------------------------
def test_errors_name_the_argument():
    s = lq()
    with pytest.raises(ValueError, match="order"):
        gdgan.train(s.game, s.init, optax.sgd(0.1), 10, order="random")
    with pytest.raises(ValueError, match="disc_steps"):
        gdgan.train(s.game, s.init, optax.sgd(0.1), 10, disc_steps=3)
    with pytest.raises(ValueError, match="optimizer: a dict"):
        gdgan.train(s.game, s.init, {"disc": optax.sgd(0.1)}, 10)
    with pytest.raises(TypeError, match="optimizer"):
        gdgan.train(s.game, s.init, "adam", 10)
    with pytest.raises(ValueError, match="key"):
        gdgan.train(s.game, s.init, optax.sgd(0.1), 10, batch=8)
    with pytest.raises(ValueError, match="steps"):
        gdgan.train(s.game, s.init, optax.sgd(0.1), 0)
    with pytest.raises(ValueError, match="y0.*finite"):
        gdgan.train(s.game, lq_state(jnp.nan, 1.0), optax.sgd(0.1), 10)
    with pytest.raises(ValueError, match="extragradient"):
        gdgan.train(s.game, s.init, {"disc": gdgan.extragradient(0.1), "gen": optax.sgd(0.1)}, 5)
    two = gdgan.systems.get("two_gaussians")
    with pytest.raises(TypeError, match="batch"):
        gdgan.train(two.game, two.init, optax.sgd(0.1), 5, batch=8, key=jax.random.PRNGKey(0))


# -- parity with Mescheder et al.'s code: who moves first, weight clipping, chunked runs ----
@pytest.mark.parametrize("loss, c", [("gan", 0.5), ("wgan", 1.0)])
def test_generator_first_alternating_closed_form(loss, c):
    r"""Dirac-GAN linearised at 0, $h = (-cθ, cψ)$: with the generator first,
    $θ' = θ + αcψ$, then $ψ' = ψ - αcθ'$, so $M = [[1 - α^2c^2, -αc], [αc, 1]]$ (rows ψ, θ),
    $\det M = 1$; `train` follows the same map on the linear WGAN for 5 steps."""
    s = gdgan.systems.get("dirac", loss=loss)
    alpha = 0.3
    rep = gdgan.discrete_stability(
        s.field(), s.equilibrium, optax.sgd(alpha), order="alternating", first="gen"
    )
    M = jnp.array([[1 - alpha**2 * c**2, -alpha * c], [alpha * c, 1.0]])
    np.testing.assert_allclose(rep.jacobian, M, rtol=1e-12, atol=1e-14)
    if loss == "wgan":  # the field is linear: the trajectory is M^k y0
        out = gdgan.train(s.game, s.init, optax.sgd(alpha), 5, order="alternating", first="gen")
        y = np.linalg.matrix_power(np.asarray(M), 5) @ np.array([0.0, 1.0])
        got = [float(out.y_final["disc"]["psi"]), float(out.y_final["gen"]["theta"])]
        np.testing.assert_allclose(got, y, rtol=1e-12, atol=1e-14)


def test_weight_clipping_is_a_projection_after_each_step():
    r"""Dirac WGAN ($\dot ψ = -θ$, $\dot θ = ψ$) from (ψ, θ) = (0, 1) with SGD α = 0.5 and
    clip c = 0.2, simultaneous: each step is $ψ' = \mathrm{clip}(ψ - αθ)$, $θ' = θ + αψ$;
    the recorded ψ never leaves $[-c, c]$ and the path equals this recursion."""
    s = gdgan.systems.get("dirac", loss="wgan")
    out = gdgan.train(s.game, s.init, optax.sgd(0.5), 6, clip=0.2)
    psi, theta = 0.0, 1.0
    for _ in range(6):
        psi, theta = float(np.clip(psi - 0.5 * theta, -0.2, 0.2)), theta + 0.5 * psi
    assert float(out.y_final["disc"]["psi"]) == pytest.approx(psi, abs=1e-14)
    assert float(out.y_final["gen"]["theta"]) == pytest.approx(theta, abs=1e-14)
    assert np.all(np.abs(np.asarray(out.ys["disc"]["psi"])) <= 0.2)
    with pytest.raises(ValueError, match="clip: expected None or a positive number"):
        gdgan.train(s.game, s.init, optax.sgd(0.5), 2, clip=0.0)
    with pytest.raises(ValueError, match="first: expected one of"):
        gdgan.train(s.game, s.init, optax.sgd(0.5), 2, first="both")


def test_opt_state_continues_a_run_in_chunks():
    """Two chunks of 7 Adam steps, the second started from the first's `y_final` and
    `opt_state`, equal one run of 14 steps (deterministic expectation)."""
    s = lq("gan")
    opt = optax.adam(0.01, b1=0.5)
    whole = gdgan.train(s.game, s.init, opt, 14)
    a = gdgan.train(s.game, s.init, opt, 7)
    b = gdgan.train(s.game, a.y_final, opt, 7, opt_state=a.opt_state)
    for x, y in zip(jax.tree_util.tree_leaves(whole.y_final), jax.tree_util.tree_leaves(b.y_final)):
        np.testing.assert_allclose(x, y, rtol=1e-13)
