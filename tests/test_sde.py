"""Stochastic gradients as an SDE: the Lyapunov solver against scipy, the per-sample noise
Σ against direct computations, the SDE and minibatch SGD against the Lyapunov prediction,
the `stochastic` reproduction (tiny) and its verdict both ways, argument errors."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.flatten_util import ravel_pytree

import gdgan
from gdgan._reproduce import stochastic as rs
from gdgan._sde import empirical_covariance, gradient_covariance, sde, stationary_covariance

J_LQ = np.array([[-1.5, -1.0], [1.0, 0.0]])  # the LQ GAN (σ = 1) at (w, a) = (0, 1)


def test_lyapunov_matches_scipy_and_closed_form():
    """`stationary_covariance` solves $JC + CJ^T + D = 0$ (scipy's
    `solve_continuous_lyapunov(J, -D)`) and $C = MCM^T + αD$, $M = I + αJ$
    (`solve_discrete_lyapunov(M, αD)`). Closed form in 1-D: $C = D / (2|λ|)$ and
    $C = αD / (1 - (1 + αλ)^2)$. A centre ($J$ with $±iω$) has no stationary distribution:
    NaN."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    J = A - (np.max(np.linalg.eigvals(A).real) + 0.5) * np.eye(4)
    B = rng.normal(size=(4, 2))
    D = B @ B.T
    np.testing.assert_allclose(
        stationary_covariance(J, D), scipy.linalg.solve_continuous_lyapunov(J, -D), rtol=1e-10
    )
    M = np.eye(4) + 0.05 * J
    np.testing.assert_allclose(
        stationary_covariance(J, D, step=0.05),
        scipy.linalg.solve_discrete_lyapunov(M, 0.05 * D),
        rtol=1e-9,
    )
    np.testing.assert_allclose(stationary_covariance([[-2.0]], [[3.0]]), [[0.75]])
    np.testing.assert_allclose(
        stationary_covariance([[-2.0]], [[3.0]], step=0.1), [[0.3 / (1 - 0.8**2)]]
    )
    centre = stationary_covariance([[0.0, -2.0], [2.0, 0.0]], np.eye(2))
    assert np.all(np.isnan(centre))
    batched = jax.vmap(lambda d: stationary_covariance(J, d * D))(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(batched[1], 2 * batched[0], rtol=1e-10)


def test_gradient_covariance_matches_direct_computation():
    r"""LQ GAN ($f = \log σ$, σ = 1) at θ* = (0, 1): one pair's field is
    $h_D = f'(0)(x^2 - a^2z^2) = (x^2 - z^2)/2$, $h_G = 2waf'(\cdot)z^2 = 0$, so
    $Σ = \mathrm{cov}$ of $((x^2 - z^2)/2, 0)$ on the same samples; it also equals the
    covariance of `game.with_samples(x[i:i+1], z[i:i+1])`'s fields at any point (the field
    is linear in the measure). With `GradientPenalty(η)` the generator's influence is
    $-2η\,∂_a∂_wV\,ψ_D = 2ησψ_D$ ($∂_a∂_wV = -2af'(0) = -σ$ and $∂_wV = 0$ at θ*)."""
    s = gdgan.systems.get("lq", loss="gan")
    key = jax.random.PRNGKey(3)
    n = 300
    kx, kz = jax.random.split(key)
    x, z = s.game.data.sample(kx, n), s.game.latent.sample(kz, n)
    S = gradient_covariance(s.game, s.equilibrium, n_samples=n, key=key)
    hd = (x**2 - z**2) / 2
    np.testing.assert_allclose(S, [[np.var(hd, ddof=1), 0.0], [0.0, 0.0]], atol=1e-12)

    y = {"disc": {"w": jnp.array(0.3)}, "gen": {"a": jnp.array(0.7)}}
    per = jax.vmap(
        lambda xi, zi: ravel_pytree(
            gdgan.vector_field(s.game.with_samples(xi[None], zi[None]))(0.0, y, None)
        )[0]
    )(x, z)
    np.testing.assert_allclose(
        gradient_covariance(s.game, y, n_samples=n, key=key),
        np.cov(np.asarray(per).T),
        rtol=1e-9,
        atol=1e-12,
    )

    eta = 0.4
    S_pen = gradient_covariance(
        s.game, s.equilibrium, gdgan.GradientPenalty(eta), n_samples=n, key=key
    )
    v = np.var(hd, ddof=1)
    np.testing.assert_allclose(S_pen, [[v, 2 * eta * v], [2 * eta * v, 4 * eta**2 * v]], rtol=1e-9)


def test_sde_linear_constant_noise_matches_lyapunov():
    r"""$dθ = Jθ\,dt + \sqrt{α/b}\,B\,dW$ with constant $B$: Euler–Maruyama with step dt is
    the chain $θ' = (I + dtJ)θ + \sqrt{dt}\,D^{1/2}ξ$, $D = (α/b)BB^T$, whose stationary
    covariance is `stationary_covariance(J, D, step=dt)` exactly (and the continuous one to
    $O(dt)$). 64 paths after a burn-in; the error is within 4 standard errors."""
    J = jnp.asarray(J_LQ)
    B = jnp.array([[1.0, 0.0], [0.5, 0.8]])
    field = lambda t, y, args: {
        "disc": J[0, 0] * y["disc"] + J[0, 1] * y["gen"],  # noqa: E731
        "gen": J[1, 0] * y["disc"] + J[1, 1] * y["gen"],
    }
    lr, b, dt = 0.1, 2, 0.03
    y0 = {"disc": 0.0, "gen": 0.0}
    out = sde(
        field,
        y0,
        60.0,
        lr=lr,
        batch=b,
        diffusion=B,
        dt=dt,
        key=jax.random.PRNGKey(0),
        n_paths=64,
        n_save=501,
        brownian="increments",
    )
    assert out.ys["disc"].shape == (64, 501) and not np.any(out.diverged)
    est = empirical_covariance(out.ys, burn_in=0.1)
    D = (lr / b) * B @ B.T
    pred = stationary_covariance(J, D, step=dt)
    assert np.all(np.abs(est.cov - pred) <= 4 * est.stderr), (est.cov, pred, est.stderr)
    np.testing.assert_allclose(pred, stationary_covariance(J, D), rtol=0.05)
    # the Brownian tree gives the same process (a short run: increments have variance dt)
    tree = sde(
        field,
        y0,
        2.0,
        lr=lr,
        batch=b,
        diffusion=B,
        dt=dt,
        key=jax.random.PRNGKey(1),
        n_paths=2,
        solver=diffrax.Heun(),
        n_save=11,
    )
    assert tree.ys["gen"].shape == (2, 11) and np.all(np.isfinite(tree.ys["gen"]))


@pytest.fixture(scope="module")
def lq_sgd():
    """SGD paths on the LQ GAN: (α, b, η) = (0.01, 16, 0) for the covariance, (0.5, 2, 0.5)
    with the unbiased penalty for escapes (one compile)."""
    configs = [(0.01, 16, 0.0), (0.5, 2, 0.5, True)]
    return configs, rs.run_sgd(configs, paths=16, steps=2000, stride=4)


def test_minibatch_sgd_matches_linearised_prediction(lq_sgd):
    """Minibatch SGD on the LQ GAN (α = 0.01, b = 16) is, linearised, the chain
    $θ' = (I + αJ)θ + α\\,ε$ with $\\mathrm{Cov}\\,ε = Σ/b$, so its stationary covariance is
    `stationary_covariance(J, (α/b)Σ, step=α)` up to nonlinear corrections $O(α/b)$:
    every entry within 4 standard errors + 5 % of the trace."""
    configs, ys = lq_sgd
    s = gdgan.systems.get("lq", loss="gan")
    est = empirical_covariance(rs._take(ys, 0), burn_in=0.2)
    S = gradient_covariance(s.game, s.equilibrium, n_samples=1024)
    pred = stationary_covariance(J_LQ, (0.01 / 16) * S, step=0.01)
    tol = 4 * est.stderr + 0.05 * np.trace(pred)
    assert np.all(np.abs(est.cov - pred) <= tol), (est.cov, pred, est.stderr)


def good_numbers():
    row = dict(
        lr=0.01,
        batch=16,
        eta=0.0,
        lr_over_b=0.01 / 16,
        trace_sgd=1.0,
        trace_sgd_se=0.01,
        trace_sde=1.02,
        trace_sde_se=0.01,
        trace_lyapunov=1.0,
        mean_offset=0.001,
    )
    big = dict(row, lr=0.04, lr_over_b=0.04 / 16, trace_sgd=4.0)
    plug = dict(row, eta=0.5, unbiased=False, trace_sgd=1.3, mean_offset=0.1)
    fixed = dict(row, eta=0.5, unbiased=True, trace_sgd=0.98, trace_lyapunov=0.95)
    esc = [
        dict(lr=0.5, batch=1, eta=0.0, p_escape=0.5),
        dict(lr=0.5, batch=1, eta=0.5, p_escape=0.1),
    ]
    return {
        "covariance": [row, big, plug, fixed],
        "escape": esc,
        "scaling_exponent": rs.scaling_exponent([row, big]),
    }


@pytest.mark.parametrize(
    "change, text",
    [
        (lambda n: n["covariance"][0].update(trace_sgd=1.5), "SGD trace differs"),
        (lambda n: n["covariance"][0].update(trace_sde=0.5), "SDE trace differs"),
        (lambda n: n.update(scaling_exponent=0.5), "scales like"),
        (lambda n: n["covariance"][3].update(trace_sgd=2.0), "penalised (unbiased) SGD trace"),
        (lambda n: n["covariance"][2].update(mean_offset=0.0), "not biased"),
        (lambda n: n["covariance"].pop(3), "no unbiased-penalty run"),
    ],
)
def test_verdict_both_ways(change, text):
    numbers = good_numbers()
    assert numbers["scaling_exponent"] == pytest.approx(1.0)
    ok, reason = rs.verdict_stochastic(numbers)
    assert ok, reason
    change(numbers)
    ok, reason = rs.verdict_stochastic(numbers)
    assert not ok and text in reason


def test_reproduction_tiny(lq_sgd, tmp_path):
    configs, ys = lq_sgd
    rows = rs.covariance_rows(
        configs[:1],
        rs._take(ys, slice(0, 1)),
        steps=2000,
        stride=4,
        sde_paths=4,
        n_samples=256,
        brownian="increments",
    )
    r = rows[0]
    assert r["trace_lyapunov"] == pytest.approx(np.trace(r["lyapunov"]))
    assert abs(r["trace_sgd"] / r["trace_lyapunov"] - 1) < 0.3
    assert abs(r["trace_sde"] / r["trace_lyapunov"] - 1) < 0.3
    esc = rs.escape_rows(configs[1:], rs._take(ys, slice(1, 2)))
    assert 0.0 <= esc[0]["p_escape"] <= 1.0
    assert "| 0.01 | 16 | 0 |" in rs._table(rows)
    assert "| 2 | 0.5 | unbiased |" in rs._escape_table(esc)
    assert (tmp_path / rs._figure(rows, esc, tmp_path)).exists()
    assert "stochastic" in gdgan._reproduce.REPRODUCTIONS


def test_argument_errors(key):
    s = gdgan.systems.get("lq", loss="gan")
    y = s.equilibrium
    with pytest.raises(TypeError, match="game: expected a gdgan.Game"):
        gradient_covariance(gdgan.systems.get("two_gaussians").game, y)
    with pytest.raises(ValueError, match="n_samples: expected an integer >= 2"):
        gradient_covariance(s.game, y, n_samples=1)
    with pytest.raises(ValueError, match="J: expected a square"):
        stationary_covariance(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="D: expected shape"):
        stationary_covariance(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="step: expected None or a positive"):
        stationary_covariance(-np.eye(2), np.eye(2), step=0.0)
    with pytest.raises(ValueError, match="sde: lr: expected a positive finite number, got -0.1"):
        sde(s.game, y, 1.0, lr=-0.1, batch=4, key=key)
    with pytest.raises(ValueError, match="sde: batch: expected a positive integer, got 0"):
        sde(s.game, y, 1.0, lr=0.1, batch=0, key=key)
    with pytest.raises(ValueError, match="noise: expected one of"):
        sde(s.game, y, 1.0, lr=0.1, batch=4, key=key, noise="white")
    with pytest.raises(ValueError, match="diffusion: required"):
        sde(s.field(), y, 1.0, lr=0.1, batch=4, key=key)
    with pytest.raises(ValueError, match="solver: state-dependent noise needs an Itô"):
        sde(s.game, y, 1.0, lr=0.1, batch=4, key=key, solver=diffrax.Heun())
    with pytest.raises(ValueError, match="brownian: expected one of"):
        sde(s.game, y, 1.0, lr=0.1, batch=4, key=key, brownian="pink")
    with pytest.raises(ValueError, match="burn_in: expected a fraction"):
        empirical_covariance({"disc": jnp.zeros((2, 10)), "gen": jnp.zeros((2, 10))}, burn_in=1.0)


def test_sgd_paths_equal_train_iterates():
    """`sgd_paths` (vmapped over configurations) is `gdgan.train` with `optax.sgd(α)` and
    minibatches of b = b_max, iterate for iterate (same key schedule)."""
    import optax

    s = gdgan.systems.get("lq", loss="gan")
    key = jax.random.PRNGKey(3)
    out = gdgan.train(
        s.game,
        s.equilibrium,
        optax.sgd(0.05),
        40,
        batch=4,
        key=key,
        stride=10,
        regularizers=[gdgan.GradientPenalty(0.5)],
    )
    ys = rs.sgd_paths(
        s.game,
        s.equilibrium,
        jnp.array([0.05]),
        jnp.array([4.0]),
        jnp.array([0.5]),
        key[None],
        40,
        10,
        4,
    )
    for a, b in zip(jax.tree_util.tree_leaves(out.ys), jax.tree_util.tree_leaves(ys)):
        np.testing.assert_allclose(b[0, 0], a[1:], rtol=1e-12, atol=1e-14)
