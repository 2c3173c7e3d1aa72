"""Quadrature rules against closed-form moments; Monte Carlo against quadrature."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdgan


def expect(dist, fn, n=16):
    pts, w = dist.quadrature(n)
    return jnp.tensordot(w, jax.vmap(fn)(pts), 1)


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (1.5, 0.3), (-2.0, 2.5)])
def test_normal_moments(mu, sigma):
    """Central moments of N(μ, σ²): E(x-μ)^{2k} = σ^{2k}(2k-1)!!, odd ones vanish.
    Gauss–Hermite with 16 nodes is exact for degree <= 31."""
    d = gdgan.Normal(mu, sigma)
    for k, exact in [(1, 0.0), (2, sigma**2), (3, 0.0), (4, 3 * sigma**4), (6, 15 * sigma**6)]:
        got = expect(d, lambda x: (x - mu) ** k)
        assert got == pytest.approx(exact, abs=1e-10 * max(1, sigma**k))
    assert expect(d, lambda x: x) == pytest.approx(mu, abs=1e-12)
    pts, w = d.quadrature(16)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("low,high", [(-1.0, 1.0), (0.5, 3.0)])
def test_uniform_moments(low, high):
    """E x^k = (b^{k+1} - a^{k+1}) / ((k+1)(b-a)); Gauss–Legendre with n nodes is exact to
    degree 2n-1."""
    d = gdgan.Uniform(low, high)
    for k in range(8):
        exact = (high ** (k + 1) - low ** (k + 1)) / ((k + 1) * (high - low))
        assert expect(d, lambda x: x**k, n=4) == pytest.approx(exact, rel=1e-12, abs=1e-14)


def test_multivariate_normal_tensor_rule():
    """E x_i x_j = μ_i μ_j + δ_ij σ_i² for a diagonal Gaussian."""
    mu, sd = jnp.array([1.0, -2.0]), jnp.array([0.5, 2.0])
    d = gdgan.Normal(mu, sd)
    pts, w = d.quadrature(6)
    assert pts.shape == (36, 2)
    second = jnp.einsum("n,ni,nj->ij", w, pts, pts)
    np.testing.assert_allclose(second, jnp.outer(mu, mu) + jnp.diag(sd**2), atol=1e-12)
    assert d.sample(jax.random.PRNGKey(1), 5).shape == (5, 2)


def test_mixture_dirac_empirical_exact():
    """Mixture moments are weighted sums; Dirac and Empirical rules are exact sums."""
    mix = gdgan.Mixture([gdgan.Normal(-1.0, 0.5), gdgan.Uniform(0.0, 2.0)], jnp.array([0.3, 0.7]))
    m2 = 0.3 * (1 + 0.25) + 0.7 * (8 / 6)
    assert expect(mix, lambda x: x**2, n=8) == pytest.approx(m2, rel=1e-12)
    assert expect(gdgan.Dirac(2.0), lambda x: x**3, n=1) == pytest.approx(8.0)
    emp = gdgan.Empirical(jnp.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    np.testing.assert_allclose(expect(emp, lambda x: x), [2.0, 3.0])
    ring = gdgan.systems.get("ring", width=4, latent_dim=2, n_samples=8).game.data
    pts, w = ring.quadrature(5)
    np.testing.assert_allclose(jnp.tensordot(w, pts, 1), [0.0, 0.0], atol=1e-12)
    radius2 = jnp.tensordot(w, jnp.sum(pts**2, -1), 1)
    assert radius2 == pytest.approx(4.0 + 2 * 0.02**2, rel=1e-12)


@pytest.mark.parametrize(
    "dist",
    [
        gdgan.Normal(0.5, 1.5),
        gdgan.Uniform(-1.0, 2.0),
        gdgan.Mixture([gdgan.Normal(-2.0, 0.5), gdgan.Normal(2.0, 0.5)]),
    ],
)
def test_monte_carlo_within_standard_error(dist):
    """The fixed-sample Monte Carlo mean of f(x) = sin x + x² is within 4 standard errors
    of the quadrature value."""
    f = lambda x: jnp.sin(x) + x**2  # noqa: E731
    exact = expect(dist, f, n=40)
    game_mc = gdgan.MonteCarlo(20_000, jax.random.PRNGKey(3))
    pts, w = game_mc.rule(dist, 0)
    vals = jax.vmap(f)(pts)
    se = jnp.std(vals) / math.sqrt(vals.size)
    assert abs(jnp.mean(vals) - exact) < 4 * se


def test_vmap_over_std():
    """The std is an array leaf: vmap over it gives E x² = σ² per entry."""
    sig = jnp.array([0.5, 1.0, 2.0])
    got = jax.vmap(lambda s: expect(gdgan.Normal(0.0, s), lambda x: x**2))(sig)
    np.testing.assert_allclose(got, sig**2, rtol=1e-12)


def test_default_expectation_policy():
    small = gdgan.Game(
        lambda p, x: p * x, lambda p, z: p * z, gdgan.Normal(0.0, 1.0), gdgan.Normal(0.0, 1.0)
    )
    assert isinstance(small.expectation, gdgan.Quadrature)
    big = gdgan.Game(
        lambda p, x: p * x,
        lambda p, z: jnp.sum(p * z),
        gdgan.Normal(0.0, 1.0),
        gdgan.Normal(jnp.zeros(50), 1.0),
    )
    assert isinstance(big.expectation, gdgan.MonteCarlo)


def test_errors():
    with pytest.raises(ValueError, match="Normal: std: expected a positive number, got -1"):
        gdgan.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="Uniform: high - low: expected a positive number"):
        gdgan.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="Mixture: `weights` must be non-negative and sum to 1"):
        gdgan.Mixture([gdgan.Normal(0.0, 1.0), gdgan.Normal(1.0, 1.0)], jnp.array([0.9, 0.9]))
    with pytest.raises(ValueError, match="use gdgan.MonteCarlo"):
        gdgan.Quadrature(8).rule(gdgan.Normal(jnp.zeros(256), 1.0), 0)
    with pytest.raises(TypeError, match="Normal: mean: expected a number"):
        gdgan.Normal("a", 1.0)
    with pytest.raises(ValueError, match="Normal.sample: n: expected a positive integer, got 0"):
        gdgan.Normal(0.0, 1.0).sample(jax.random.PRNGKey(0), 0)


@pytest.mark.parametrize(
    "make",
    [
        lambda dt: gdgan.Normal(jnp.array([0.5, -1.0], dt), jnp.array([2.0, 0.3], dt)),
        lambda dt: gdgan.Uniform(jnp.array(-1.0, dt), jnp.array(3.0, dt)),
        lambda dt: gdgan.Mixture(
            [
                gdgan.Normal(jnp.array(-2.0, dt), jnp.array(0.1, dt)),
                gdgan.Normal(jnp.array(2.0, dt), jnp.array(0.1, dt)),
            ],
            jnp.array([0.3, 0.7], dt),
        ),
    ],
)
def test_float32_copy_draws_the_float64_samples_rounded(make):
    """Samples do not depend on the parameters' precision: a float32 distribution draws
    the float64 samples rounded to float32 (so a float32 copy of a Monte Carlo field is the
    same estimate, not another one)."""
    key = jax.random.PRNGKey(7)
    x64 = make(jnp.float64).sample(key, 200)
    x32 = make(jnp.float32).sample(key, 200)
    assert x32.dtype == jnp.float32 and x64.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(x32), np.asarray(x64), rtol=1e-6, atol=1e-6)
