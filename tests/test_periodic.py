"""Periodic orbits by shooting (`gdgan.periodic_orbit`): cycles with known radius, period and
Floquet multipliers, a published period, centres reported as neutral families, and failures
reported as statuses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import gdgan

P, OMEGA = 0.3, 1.7


def hopf(t, y, args):
    """ż = (p + iω) z − |z|² z."""
    x, z = y["disc"], y["gen"]
    r2 = x * x + z * z
    return {"disc": P * x - OMEGA * z - r2 * x, "gen": OMEGA * x + P * z - r2 * z}


def vdp(t, y, args):
    """van der Pol, μ = 1: ẍ − (1 − x²)ẋ + x = 0."""
    x, v = y["disc"], y["gen"]
    return {"disc": v, "gen": (1 - x**2) * v - x}


def test_hopf_normal_form_cycle():
    """In polar coordinates ṙ = pr − r³, θ̇ = ω: the cycle r = √p has period 2π/ω; the radial
    linearisation d(pr − r³)/dr = p − 3r² = −2p at r = √p gives the non-trivial multiplier
    exp(−2p · 2π/ω); the trivial one is 1."""
    orb = gdgan.periodic_orbit(hopf, {"disc": 0.4, "gen": 0.2}, 3.5)
    assert orb.converged and orb.result_name == "successful"
    r = float(jnp.hypot(orb.y0["disc"], orb.y0["gen"]))
    assert r == pytest.approx(np.sqrt(P), abs=1e-9)
    assert float(orb.period) == pytest.approx(2 * np.pi / OMEGA, abs=1e-9)
    mu = np.asarray(orb.floquet_multipliers)
    np.testing.assert_allclose(mu, [1.0, np.exp(-2 * P * 2 * np.pi / OMEGA)], atol=1e-8)
    assert bool(orb.isolated) and bool(orb.stable)
    assert float(orb.residual) < 1e-9


def test_van_der_pol_period_and_liouville_multiplier():
    """van der Pol's limit cycle at μ = 1 has period T = 6.6632868593231 (the reference value
    quoted e.g. by Hairer, Nørsett & Wanner's test set and many continuation codes). In 2-D
    the product of the multipliers is exp(∫₀ᵀ div h dt) (Liouville), and div h = 1 − x²;
    the integral is computed independently with scipy's DOP853 along the orbit found."""
    orb = gdgan.periodic_orbit(vdp, {"disc": 2.0, "gen": 0.0}, 6.0)
    assert orb.converged
    T = float(orb.period)
    assert T == pytest.approx(6.6632868593231, abs=1e-8)

    def rhs(t, u):
        x, v, _ = u
        return [v, (1 - x**2) * v - x, 1 - x**2]

    y0 = [float(orb.y0["disc"]), float(orb.y0["gen"]), 0.0]
    sol = solve_ivp(rhs, (0.0, T), y0, method="DOP853", rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sol.y[:2, -1], y0[:2], atol=1e-8)  # closed orbit
    mu = np.asarray(orb.floquet_multipliers)
    assert mu[0] == pytest.approx(1.0, abs=1e-8)
    assert abs(mu[1]) == pytest.approx(np.exp(sol.y[2, -1]), rel=1e-6)
    assert bool(orb.isolated) and bool(orb.stable)


def test_lq_wgan_centre_is_a_neutral_family():
    """The unregularised LQ WGAN conserves H = w² + a²/2 − σ² ln|a|, so the orbits around
    (0, σ) form a family: the multiplier 1 is double (flow direction and the direction
    across the family, ∇Hᵀ M = ∇Hᵀ). It must be reported as not isolated and not stable,
    and the point found lies on a closed level set (H is the same after one period)."""
    s = gdgan.systems.get("lq", sigma=1.0, loss="wgan")
    y0 = {"disc": {"w": 0.0}, "gen": {"a": 1.3}}
    orb = gdgan.periodic_orbit(s.field(), y0, 3.1)
    assert orb.converged
    mu = np.asarray(orb.floquet_multipliers)
    np.testing.assert_allclose(mu, [1.0, 1.0], atol=1e-5)
    assert not bool(orb.isolated) and not bool(orb.stable)
    # near the start (the damped Newton stays on the family member nearest the guess)
    assert abs(float(orb.y0["gen"]["a"]) - 1.3) < 0.1
    # the small-amplitude limit of the period is 2π/(2σ) = π; larger orbits are slower
    assert np.pi < float(orb.period) < 3.4


def test_dirac_wgan_rotation_family():
    """Dirac-WGAN: ψ̇ = −θ, θ̇ = ψ is a rotation; every orbit has period 2π and M = I."""
    s = gdgan.systems.get("dirac", loss="wgan")
    orb = gdgan.periodic_orbit(s.field(), {"disc": {"psi": 0.0}, "gen": {"theta": 1.0}}, 6.2)
    assert orb.converged and float(orb.period) == pytest.approx(2 * np.pi, abs=1e-9)
    np.testing.assert_allclose(np.asarray(orb.monodromy), np.eye(2), atol=1e-8)
    assert not bool(orb.isolated) and not bool(orb.stable)


def test_failures_are_statuses_not_exceptions():
    """At an equilibrium every period fits: reported as `equilibrium`. Too few Newton steps:
    `newton_failed`, also under `jax.jit` (no exception inside the trace)."""
    eq = gdgan.periodic_orbit(hopf, {"disc": 0.0, "gen": 0.0}, 3.0)
    assert eq.result_name == "equilibrium" and not eq.converged
    assert "equilibrium" in eq.message

    @jax.jit
    def run(T):
        return gdgan.periodic_orbit(hopf, {"disc": 0.4, "gen": 0.2}, T, max_steps=1)

    out = run(jnp.asarray(3.5))
    assert out.result_name == "newton_failed"


def test_vmap_equals_a_loop():
    """Batched starts (vmap over y0 and the period guess) give what one call per start
    gives; a start at the equilibrium fails alone, as a status."""
    x0, T = jnp.array([0.4, 0.7, 0.0]), jnp.array([3.5, 4.0, 3.0])
    batch = jax.vmap(lambda x, t: gdgan.periodic_orbit(hopf, {"disc": x, "gen": 0.2}, t))(x0, T)
    assert list(batch.result_name)[:2] == ["successful", "successful"]
    assert batch.result_name[2] != "successful"
    for i in range(2):
        one = gdgan.periodic_orbit(hopf, {"disc": x0[i], "gen": 0.2}, T[i])
        assert float(batch.period[i]) == pytest.approx(float(one.period), abs=1e-12)
        np.testing.assert_allclose(
            batch.floquet_multipliers[i], one.floquet_multipliers, atol=1e-10
        )


def test_bad_input_errors():
    with pytest.raises(ValueError, match="period"):
        gdgan.periodic_orbit(hopf, {"disc": 0.4, "gen": 0.2}, -1.0)
    with pytest.raises(ValueError, match="y0: expected a dict"):
        gdgan.periodic_orbit(hopf, jnp.ones(2), 3.0)
    with pytest.raises(ValueError, match="finite"):
        gdgan.periodic_orbit(hopf, {"disc": float("nan"), "gen": 0.2}, 3.0)
    with pytest.raises(TypeError, match="field: expected"):
        gdgan.periodic_orbit("vdp", {"disc": 0.4, "gen": 0.2}, 3.0)
    with pytest.raises(TypeError, match="solver: expected a diffrax solver"):
        gdgan.periodic_orbit(hopf, {"disc": 0.4, "gen": 0.2}, 3.0, solver="rk4")
    with pytest.raises(ValueError, match="max_steps: expected a positive integer"):
        gdgan.periodic_orbit(hopf, {"disc": 0.4, "gen": 0.2}, 3.0, max_steps=0)
