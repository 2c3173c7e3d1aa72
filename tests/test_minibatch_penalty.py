r"""The paper's penalty on minibatches: the plug-in estimate is biased, `unbiased=True` is not.

Oracle. For a minibatch $B$ of $b$ independent (data, latent) samples,
$\nabla_{θ_D} L_{D,B} = \bar g$ is an average of iid per-sample gradients with mean
$μ = \nabla_{θ_D} L_D$ and covariance $Σ_D$, so
$\mathbb E\|\bar g\|^2 = \|μ\|^2 + \mathrm{tr}\,Σ_D/b$ (the plug-in penalty's bias), while
$\|\bar g\|^2 - \sum_i\|g_i - \bar g\|^2/(b(b-1))$ (per data and latent sample set) has mean
$\|μ\|^2$ exactly. Because the samples do not depend on θ, the generator's gradient of the
unbiased estimate is unbiased too. $\mathrm{tr}\,Σ_D$ is the disc block of
`gdgan.gradient_covariance` (the per-pair covariance of the field). Averages over 20 000
minibatches of size 4 on the LQ GAN, off-equilibrium; tolerance 4 standard errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdgan

B, N = 4, 20_000


@pytest.fixture(scope="module")
def setup():
    s = gdgan.systems.get("lq", loss="gan")
    y = {
        "disc": jax.tree_util.tree_map(lambda a: a + 0.1, s.equilibrium["disc"]),
        "gen": jax.tree_util.tree_map(lambda a: 1.2 * a, s.equilibrium["gen"]),
    }
    return s, y


def minibatch_stats(s, y, reg, key):
    def one(k):
        kx, kz = jax.random.split(k)
        g = s.game.with_samples(s.game.data.sample(kx, B), s.game.latent.sample(kz, B))
        f = gdgan.vector_field(g, reg)
        l_g_pen = f.player_losses(y)[1]
        l_g = gdgan.vector_field(g).player_losses(y)[1]
        return (l_g_pen - l_g) / reg.eta, jax.tree_util.tree_leaves(f(0.0, y, None)["gen"])[0]

    pen, h_gen = jax.jit(jax.vmap(one))(jax.random.split(key, N))
    return [(float(jnp.mean(v)), float(jnp.std(v)) / np.sqrt(N)) for v in (pen, h_gen)]


def test_plugin_penalty_is_biased_by_trace_sigma_over_b(setup, key):
    s, y = setup
    reg = gdgan.GradientPenalty(0.5)
    exact_field = gdgan.vector_field(s.game, reg)
    exact_pen = float(
        (exact_field.player_losses(y)[1] - gdgan.vector_field(s.game).player_losses(y)[1]) / 0.5
    )
    sigma = gdgan.gradient_covariance(s.game, y, n_samples=200_000, key=key)
    n_d = jax.flatten_util.ravel_pytree(y["disc"])[0].size
    bias = float(jnp.trace(sigma[:n_d, :n_d])) / B
    (pen, se), (h, h_se) = minibatch_stats(s, y, reg, key)
    assert bias > 20 * se  # the bias is real here
    assert abs(pen - (exact_pen + bias)) < 4 * se + 0.01 * bias
    h_exact = float(jax.tree_util.tree_leaves(exact_field(0.0, y, None)["gen"])[0])
    assert abs(h - h_exact) > 10 * h_se  # and moves the generator


def test_unbiased_penalty_and_its_gradient(setup, key):
    s, y = setup
    reg = gdgan.GradientPenalty(0.5, unbiased=True)
    exact_field = gdgan.vector_field(s.game, reg)  # quadrature: no correction
    exact_pen = float(
        (exact_field.player_losses(y)[1] - gdgan.vector_field(s.game).player_losses(y)[1]) / 0.5
    )
    (pen, se), (h, h_se) = minibatch_stats(s, y, reg, jax.random.fold_in(key, 1))
    assert abs(pen - exact_pen) < 4 * se
    h_exact = float(jax.tree_util.tree_leaves(exact_field(0.0, y, None)["gen"])[0])
    assert abs(h - h_exact) < 4 * h_se
    # On the deterministic expectation both estimates are the same field.
    plug = gdgan.vector_field(s.game, gdgan.GradientPenalty(0.5))(0.0, y, None)
    np.testing.assert_allclose(jax.tree_util.tree_leaves(plug["gen"])[0], h_exact, rtol=1e-14)


def test_unbiased_flag_is_checked():
    with pytest.raises(TypeError, match="unbiased"):
        gdgan.GradientPenalty(0.5, unbiased="yes")


def test_zero_weight_samples_drop_out(setup, key):
    """Padding a minibatch of 4 with 3 zero-weight points leaves the unbiased field unchanged."""
    import equinox as eqx

    from gdgan._distributions import Samples

    s, y = setup
    kx, kz = jax.random.split(key)
    x, z = s.game.data.sample(kx, 7), s.game.latent.sample(kz, 7)
    w = jnp.where(jnp.arange(7) < 4, 0.25, 0.0)
    padded = eqx.tree_at(lambda g: g.expectation, s.game, Samples((x, w), (z, w)))
    reg = gdgan.GradientPenalty(0.5, unbiased=True)
    a = gdgan.vector_field(padded, reg)(0.0, y, None)
    b = gdgan.vector_field(s.game.with_samples(x[:4], z[:4]), reg)(0.0, y, None)
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-12)
