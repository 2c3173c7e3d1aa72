"""The vector field: closed forms, finite differences, losses, regularizers, transformations
and error messages."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ALL_LOSSES, lq_state, regularizer_catalogue, small_ring

import gdgan


def lq_game(sigma=1.0, loss="wgan", **kw):
    return gdgan.Game(
        lambda p, x: p["w"] * x**2,
        lambda p, z: p["a"] * z,
        gdgan.Normal(0.0, sigma),
        gdgan.Normal(0.0, 1.0),
        loss=loss,
        **kw,
    )


def test_lq_wgan_value_and_field():
    """V = w(σ² − a²) ⇒ h = (σ² − a², 2wa) (theory.md §7)."""
    sigma, w, a = 1.7, 0.4, 0.9
    game = lq_game(sigma)
    y = lq_state(w, a)
    assert game.value(y) == pytest.approx(w * (sigma**2 - a**2), rel=1e-12)
    h = gdgan.vector_field(game)(0.0, y, None)
    assert h["disc"]["w"] == pytest.approx(sigma**2 - a**2, rel=1e-12)
    assert h["gen"]["a"] == pytest.approx(2 * w * a, rel=1e-12)


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_field_is_minus_each_players_gradient_by_finite_differences(loss):
    """h_D = −∂L_D/∂θ_D and h_G = −∂L_G/∂θ_G, checked by central differences of each player's
    loss (computed independently from the loss table in _losses.py)."""
    game = lq_game(1.3, loss)
    y = lq_state(0.3, 0.8)
    losses = gdgan.vector_field(game).player_losses
    eps = 1e-6

    def fd(player, leaf, idx):
        def at(d):
            yy = jax.tree_util.tree_map(lambda v: v, y)
            yy[player][leaf] = y[player][leaf] + d
            return losses(yy)[idx]

        return (at(eps) - at(-eps)) / (2 * eps)

    h = gdgan.vector_field(game)(0.0, y, None)
    assert h["disc"]["w"] == pytest.approx(float(-fd("disc", "w", 0)), rel=1e-6, abs=1e-8)
    assert h["gen"]["a"] == pytest.approx(float(-fd("gen", "a", 1)), rel=1e-6, abs=1e-8)


def test_zero_sum_player_losses_are_minus_and_plus_value():
    game = lq_game(1.0, "gan")
    y = lq_state(0.2, 1.4)
    l_d, l_g = gdgan.vector_field(game).player_losses(y)
    assert l_g == pytest.approx(float(game.value(y))) and l_d == pytest.approx(
        float(-game.value(y))
    )


def test_custom_concave_loss_matches_named():
    game = lq_game(1.0, lambda t: -jnp.logaddexp(0.0, -t))
    ref = lq_game(1.0, "gan")
    y = lq_state(0.3, 0.7)
    assert game.value(y) == pytest.approx(float(ref.value(y)), rel=1e-12)


def test_equinox_modules_as_players():
    """D and G as equinox MLPs (discriminator=None calls the module); the field equals
    (∇_D V, −∇_G V) from eqx.filter_grad and the Jacobian has the parameter count."""
    kd, kg = jax.random.split(jax.random.PRNGKey(0))
    disc = eqx.nn.MLP(1, "scalar", 4, 1, key=kd, activation=jnp.tanh)
    gen = eqx.nn.MLP(1, 1, 4, 1, key=kg, activation=jnp.tanh)
    game = gdgan.Game(
        lambda m, x: m(x[None]),
        lambda m, z: m(z[None])[0],
        gdgan.Normal(0.0, 1.0),
        gdgan.Normal(0.0, 1.0),
        loss="gan",
        expectation=gdgan.Quadrature(8),
    )
    y = {"disc": disc, "gen": gen}
    h = gdgan.vector_field(game)(0.0, y, None)
    gd = eqx.filter_grad(lambda d: game.value({"disc": d, "gen": gen}))(disc)
    gg = eqx.filter_grad(lambda g: game.value({"disc": disc, "gen": g}))(gen)
    np.testing.assert_allclose(h["disc"].layers[0].weight, gd.layers[0].weight, rtol=1e-10)
    np.testing.assert_allclose(h["gen"].layers[1].bias, -gg.layers[1].bias, rtol=1e-10)
    n = sum(a.size for a in jax.tree_util.tree_leaves(eqx.filter(y, eqx.is_inexact_array)))
    assert gdgan.stability(gdgan.vector_field(game), y).jacobian.shape == (n, n)


@pytest.mark.parametrize("reg", regularizer_catalogue(), ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("name,loss", [("lq", "gan"), ("lq", "wgan"), ("dirac", "gan")])
def test_regularizers_preserve_equilibria(reg, name, loss):
    """Every stabiliser vanishes at a realisable equilibrium (D ≡ 0, p_G = p_data): the
    gradient norm, ‖h‖², ∇_x D and the unrolled steps are all zero there."""
    s = gdgan.systems.get(name, loss=loss)
    h = s.field(reg)(0.0, s.equilibrium, None)
    assert max(abs(float(v)) for v in jax.tree_util.tree_leaves(h)) < 1e-12


@pytest.mark.parametrize("reg", regularizer_catalogue(), ids=lambda r: type(r).__name__)
def test_regularized_jacobian_matches_finite_differences(reg):
    """Exact Jacobian (jacfwd through second derivatives) vs central differences of the
    regularised field at a generic (non-equilibrium) state of the LQ GAN."""
    field = gdgan.vector_field(lq_game(1.2, "gan"), reg)
    y = lq_state(0.25, 0.9)
    J = gdgan.jacobian(field, y)
    f, v, _ = gdgan._analysis.flatten(field, y)
    eps = 1e-6
    fd = jnp.stack([(f(v + eps * e) - f(v - eps * e)) / (2 * eps) for e in jnp.eye(2)], 1)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-7)


def test_vmap_over_eta_equals_loop_and_jit_equals_eager():
    s = gdgan.systems.get("lq", sigma=1.5, loss="wgan")

    def eig(eta):
        return gdgan.stability(s.field(gdgan.GradientPenalty(eta)), s.equilibrium).eigenvalues

    etas = jnp.array([0.0, 0.1, 0.5, 1.0])
    batched = jax.vmap(eig)(etas)
    looped = jnp.stack([eig(e) for e in etas])
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12)
    h_eager = s.field(gdgan.GradientPenalty(0.3))(0.0, lq_state(0.2, 1.1), None)
    h_jit = jax.jit(lambda y: s.field(gdgan.GradientPenalty(0.3))(0.0, y, None))(lq_state(0.2, 1.1))
    np.testing.assert_allclose(h_eager["gen"]["a"], h_jit["gen"]["a"], rtol=1e-14)


def test_field_pytree_can_be_jitted_as_argument_without_retrace():
    traces = []

    @eqx.filter_jit
    def apply(field, y):
        traces.append(1)
        return field(0.0, y, None)

    s = gdgan.systems.get("lq", loss="wgan")
    apply(s.field(gdgan.GradientPenalty(0.1)), lq_state(0.1, 1.0))
    apply(s.field(gdgan.GradientPenalty(0.7)), lq_state(0.3, 1.2))
    assert len(traces) == 1


def test_ring_field_shapes():
    s = small_ring()
    h = s.field(gdgan.GradientPenalty(0.5))(0.0, s.init, None)
    assert jax.tree_util.tree_structure(h) == jax.tree_util.tree_structure(s.init)
    assert all(jnp.all(jnp.isfinite(a)) for a in jax.tree_util.tree_leaves(h))


def test_errors():
    game = lq_game()
    field = gdgan.vector_field(game)
    with pytest.raises(
        ValueError, match=r"y: expected a dict \{'disc': ..., 'gen': ...\}, got \['disc'\]"
    ):
        field(0.0, {"disc": {"w": 0.0}}, None)
    with pytest.raises(ValueError, match=r"generator: output shape \(3,\) does not match"):
        field(0.0, {"disc": {"w": jnp.array(0.0)}, "gen": {"a": jnp.ones(3)}}, None)
    with pytest.raises(
        ValueError, match="GradientPenalty: eta: expected a non-negative number, got -0.1"
    ):
        gdgan.GradientPenalty(-0.1)
    with pytest.raises(ValueError, match="R1: gamma: expected a non-negative number"):
        gdgan.R1(-1.0)
    with pytest.raises(
        ValueError, match=r"loss: expected one of \['gan', 'hinge', 'lsgan', 'nsgan', 'wgan'\]"
    ):
        lq_game(loss="gann")
    with pytest.raises(ValueError, match="loss: the callable f must be concave"):
        lq_game(loss=lambda t: t**2)
    with pytest.raises(ValueError, match="stability: y: expected finite values, got NaN/inf"):
        gdgan.stability(field, lq_state(jnp.nan, 1.0))
    with pytest.raises(TypeError, match="regularizers: expected instances of GradientPenalty"):
        gdgan.vector_field(game, 0.5)
    with pytest.raises(TypeError, match="R1: needs a gdgan.Game"):
        gdgan.vector_field(gdgan.ValueGame(lambda y: y["disc"] * y["gen"]), gdgan.R1(1.0))(
            0.0, {"disc": jnp.array(1.0), "gen": jnp.array(1.0)}, None
        )
    with pytest.raises(ValueError, match="discriminator: must return one scalar logit"):
        gdgan.vector_field(
            gdgan.Game(
                lambda p, x: p * jnp.ones(2),
                lambda p, z: p * z,
                gdgan.Normal(0.0, 1.0),
                gdgan.Normal(0.0, 1.0),
            )
        )(0.0, {"disc": jnp.array(1.0), "gen": jnp.array(1.0)}, None)
    bad_field = lambda t, y, args: {"disc": y["disc"]}  # noqa: E731
    with pytest.raises(ValueError, match="field: must return the state's structure"):
        gdgan.stability(bad_field, lq_state(0.0, 1.0))


@pytest.mark.parametrize("target", [1.0, 0.5, 0.0])
def test_wgangp_target_on_the_dirac_gan(target):
    r"""Dirac WGAN, $D(x) = ψx$: $\nabla_x D = ψ$ at every interpolate, so WGAN-GP adds
    $λ(|ψ| - t)^2$ to $L_D = ψθ$ (V = −ψθ) and $\dot ψ = -θ - 2λ(|ψ| - t)\,\mathrm{sign}\,ψ$,
    $\dot θ = ψ$ (ψ ≠ 0)."""
    s = gdgan.systems.get("dirac", loss="wgan")
    lam, psi, theta = 0.7, -0.3, 0.4
    y = {"disc": {"psi": jnp.asarray(psi)}, "gen": {"theta": jnp.asarray(theta)}}
    h = s.field(gdgan.WGANGP(lam, target=target))(0.0, y, None)
    want = -theta - 2 * lam * (abs(psi) - target) * np.sign(psi)
    np.testing.assert_allclose(float(h["disc"]["psi"]), want, rtol=1e-12)
    np.testing.assert_allclose(float(h["gen"]["theta"]), psi, rtol=1e-12)


def test_unrolled_adam_on_the_dirac_gan():
    r"""Dirac WGAN: $\nabla_ψ L_D = θ$ does not depend on ψ, so fresh-state Adam steps all
    equal $\mathrm{lr}\,θ/(|θ| + ε)$ (bias-corrected moments of a constant gradient):
    $ψ_k = ψ - k\,\mathrm{lr}\,θ/(|θ| + ε)$ and, with $L_G = -ψ_kθ$,
    $\dot θ = ψ_k + θ\,\partial ψ_k/\partial θ = ψ - k\,\mathrm{lr}\,θ/(|θ|+ε)
    - k\,\mathrm{lr}\,θε/(|θ|+ε)^2$; the discriminator's field is unchanged."""
    s = gdgan.systems.get("dirac", loss="wgan")
    k, lr, eps, psi, theta = 3, 0.05, 1e-8, 0.3, 0.7
    y = {"disc": {"psi": jnp.asarray(psi)}, "gen": {"theta": jnp.asarray(theta)}}
    h = s.field(gdgan.Unrolled(k, lr, adam_b1=0.5))(0.0, y, None)
    a = abs(theta) + eps
    want = psi - k * lr * theta / a - k * lr * theta * eps / a**2
    np.testing.assert_allclose(float(h["gen"]["theta"]), want, rtol=1e-10)
    np.testing.assert_allclose(float(h["disc"]["psi"]), -theta, rtol=1e-12)
    with pytest.raises(ValueError, match="adam_b1"):
        gdgan.Unrolled(2, 0.1, adam_b1=1.5)
