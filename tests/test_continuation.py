"""Continuation of equilibrium branches (`gdgan.continuation`) and of the update maps of
discrete training in the step size (`gdgan.continuation_discrete`), against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdgan


def state(x, y):
    return {"disc": jnp.asarray(x, float), "gen": jnp.asarray(y, float)}


def fold_of(p):
    """ẋ = p − x², ẏ = −y: equilibria x = ±√p exist for p ≥ 0 and meet at the fold p = 0."""

    def field(t, y, args):
        return {"disc": p - y["disc"] ** 2, "gen": -y["gen"]}

    return field


def hopf_of(p, omega=1.7):
    """The Hopf normal form ż = (p + iω) z − |z|² z, z = x + i y."""

    def field(t, y, args):
        x, z = y["disc"], y["gen"]
        r2 = x * x + z * z
        return {"disc": p * x - omega * z - r2 * x, "gen": omega * x + p * z - r2 * z}

    return field


def test_fold_of_the_saddle_node_normal_form():
    """ẋ = p − x², ẏ = −y. Equilibria (±√p, 0); J = diag(−2x, −1), so the upper branch is
    stable, the lower one unstable, and the two meet at the fold p = 0, x = 0, where the
    eigenvalue −2x crosses 0 and dp/ds changes sign. Starting at (1, 0), p = 1 and
    continuing towards p = −1, the branch must turn at p = 0 and come back along x = −√p
    until it leaves the interval at p = 1 (x = −1)."""
    br = gdgan.continuation(fold_of, state(1.0, 0.0), 1.0, -1.0)
    assert br.status == "left_interval"
    x, p = np.asarray(br.y["disc"]), br.p
    np.testing.assert_allclose(x**2, p, atol=1e-9)
    np.testing.assert_allclose(np.asarray(br.y["gen"]), 0.0, atol=1e-12)
    assert (
        x[0] == pytest.approx(1.0) and x[-1] == pytest.approx(-1.0) and p[-1] == pytest.approx(1.0)
    )
    np.testing.assert_array_equal(br.stable, x > 0)
    ev = np.sort(br.eigenvalues.real, axis=1)
    np.testing.assert_allclose(
        ev, np.sort(np.stack([-2 * x, -np.ones_like(x)], 1), axis=1), atol=1e-9
    )
    assert [b.kind for b in br.points] == ["fold"]
    fold = br.points[0]
    assert abs(fold.p) < 1e-8 and abs(float(fold.y["disc"])) < 1e-6
    assert abs(fold.eigenvalue) < 1e-6 and fold.bracket <= 1e-10


def test_hopf_point_of_the_hopf_normal_form():
    """ż = (p + iω) z − |z|² z: the origin is an equilibrium for every p with eigenvalues
    p ± iω, so a complex pair crosses the imaginary axis at p = 0 with frequency ω."""
    omega = 1.7
    br = gdgan.continuation(hopf_of, state(0.05, -0.02), -1.0, 1.0)
    assert br.status == "reached_stop"
    assert br.p[0] == -1.0 and br.p[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(np.asarray(br.y["disc"]), 0.0, atol=1e-12)
    expected = np.stack([br.p + 1j * omega, br.p - 1j * omega], 1)
    np.testing.assert_allclose(br.eigenvalues, expected, atol=1e-12)
    np.testing.assert_array_equal(br.stable, br.p < -1e-9)
    assert [b.kind for b in br.points] == ["hopf"]
    h = br.points[0]
    assert abs(h.p) < 1e-8
    assert h.frequency == pytest.approx(omega, abs=1e-8)


def curved_of(p):
    """ẋ = p − sinh x, ẏ = x² − eʸ + 1."""

    def field(t, y, args):
        x, z = y["disc"], y["gen"]
        return {"disc": p - jnp.sinh(x), "gen": x**2 - jnp.exp(z) + 1.0}

    return field


def test_nonlinear_branch_against_its_closed_form():
    """ẋ = p − sinh x, ẏ = x² − eʸ + 1 has the single equilibrium x = asinh p,
    y = log(1 + x²); J = [[−cosh x, 0], [2x, −eʸ]] (triangular) has eigenvalues −cosh x and
    −eʸ = −(1 + x²): stable everywhere, no bifurcation. Compare point by point."""
    br = gdgan.continuation(curved_of, state(0.0, 0.0), -2.0, 3.0, ds=0.3)
    assert br.status == "reached_stop" and br.p[-1] == pytest.approx(3.0)
    assert len(br.p) >= 8 and np.all(np.diff(br.p) > 0)
    x = np.arcsinh(br.p)
    np.testing.assert_allclose(np.asarray(br.y["disc"]), x, atol=1e-10)
    np.testing.assert_allclose(np.asarray(br.y["gen"]), np.log1p(x**2), atol=1e-10)
    ev = np.sort(br.eigenvalues.real, axis=1)
    np.testing.assert_allclose(
        ev, np.sort(np.stack([-np.cosh(x), -(1 + x**2)], 1), axis=1), rtol=1e-9
    )
    assert np.all(br.stable) and br.points == []
    # the pseudo-arclength steps are projections of the chords on the tangent: a little
    # shorter than the chords on a curved branch
    chord = np.linalg.norm(
        np.diff(np.stack([np.asarray(br.y["disc"]), np.asarray(br.y["gen"]), br.p], 1), axis=0),
        axis=1,
    )
    assert np.all(np.diff(br.s) <= chord * (1 + 1e-9)) and np.all(chord <= 1.05 * np.diff(br.s))


def test_lq_wgan_gradient_penalty_branch_matches_closed_form():
    """LQ WGAN (x ~ N(0, σ²), G = az, D = wx²): ẇ = σ² − a², ȧ = 2wa; with the gradient
    penalty the generator also descends η‖∂_w V‖² = η(σ² − a²)², adding
    −η ∂_a(σ² − a²)² = 4ηa(σ² − a²) to ȧ. At (0, σ): J = [[0, −2σ], [2σ, −8ησ²]], trace
    −8ησ², det 4σ², so λ = −4ησ² ± 2σ√(4η²σ² − 1). The equilibrium does not move with η."""
    sigma = 1.3
    s = gdgan.systems.get("lq", sigma=sigma, loss="wgan")
    br = gdgan.continuation(
        lambda eta: s.field(gdgan.GradientPenalty(eta)), s.equilibrium, 0.0, 1.2
    )
    assert br.status == "reached_stop" and len(br.p) >= 5
    np.testing.assert_allclose(np.asarray(br.y["gen"]["a"]), sigma, atol=1e-12)
    np.testing.assert_allclose(np.asarray(br.y["disc"]["w"]), 0.0, atol=1e-12)
    eta = br.p
    root = 2 * sigma * np.sqrt((4 * eta**2 * sigma**2 - 1).astype(complex))
    expected = np.stack([-4 * eta * sigma**2 + root, -4 * eta * sigma**2 - root], 1)
    np.testing.assert_allclose(
        np.sort_complex(br.eigenvalues), np.sort_complex(expected), atol=1e-10
    )
    assert not br.stable[0] and np.all(br.stable[1:])  # marginal at η = 0 only
    assert br.points == []  # the boundary η = 0 is the start: no crossing inside


def test_matrix_free_mode_tracks_the_rightmost_pair():
    """The Hopf normal form coupled to a stable linear block (ẋ₃ = −3x₃ + p x₄,
    ẋ₄ = −x₃ − 2x₄, eigenvalues with real part ≤ −1 for p ∈ [−1, 1]): the rightmost pair is
    p ± iω, and the matrix-free mode (k = 2, GMRES) finds the same branch and Hopf point as
    the dense one."""
    omega = 1.7

    def field_of(p):
        def field(t, y, args):
            (x, z), (u, v) = y["disc"], y["gen"]
            r2 = x * x + z * z
            return {
                "disc": jnp.stack([p * x - omega * z - r2 * x, omega * x + p * z - r2 * z]),
                "gen": jnp.stack([-3 * u + p * v, -u - 2 * v]),
            }

        return field

    y0 = {"disc": jnp.array([0.01, 0.0]), "gen": jnp.array([0.0, 0.01])}
    dense = gdgan.continuation(field_of, y0, -1.0, 1.0)
    mf = gdgan.continuation(field_of, y0, -1.0, 1.0, matrix_free=True, k=2)
    assert mf.eigenvalues.shape == (len(mf.p), 2)
    np.testing.assert_allclose(mf.p, dense.p, atol=1e-9)
    np.testing.assert_allclose(mf.eigenvalues, dense.eigenvalues[:, :2], atol=1e-8)
    assert [b.kind for b in mf.points] == ["hopf"]
    assert abs(mf.points[0].p) < 1e-8 and mf.points[0].frequency == pytest.approx(omega)
    np.testing.assert_array_equal(mf.stable, dense.stable)


# -- discrete time -------------------------------------------------------------------------------
def lq_gp(eta, sigma):
    s = gdgan.systems.get("lq", sigma=sigma, loss="wgan")
    return s.field(gdgan.GradientPenalty(eta)), s.equilibrium


@pytest.mark.parametrize("eta, kind", [(0.2, "neimark_sacker"), (0.9, "flip")])
def test_simultaneous_sgd_loses_stability_at_max_stable_step(eta, kind):
    """Simultaneous SGD has multipliers 1 + αλ; |1 + αλ| = 1 at α = 2|Re λ|/|λ|², so the
    first crossing is `max_stable_step`. With σ = 1, λ = −4η ± 2√(4η² − 1): complex for
    η < 1/2 (|λ|² = 4, Re λ = −4η, crossing α = 2η, a Neimark–Sacker point with angle
    arg(1 + 2ηλ)), real for η > 1/2 (the larger |λ| leaves through −1 first: a flip at
    α = 2/|λ₋|)."""
    field, y_star = lq_gp(eta, 1.0)
    a_star = float(gdgan.stability(field, y_star).max_stable_step)
    lam = -4 * eta + 2 * np.sqrt(complex(4 * eta**2 - 1))
    expected = 2 * eta if eta < 0.5 else 2 / abs(-4 * eta - 2 * np.sqrt(4 * eta**2 - 1))
    assert a_star == pytest.approx(expected, rel=1e-12)
    br = gdgan.continuation_discrete(field, y_star, 0.05, 3 * a_star, n_points=20)
    assert br.time == "discrete" and br.points[0].kind == kind
    assert br.points[0].p == pytest.approx(a_star, abs=1e-8)
    if kind == "neimark_sacker":
        assert br.points[0].frequency == pytest.approx(abs(np.angle(1 + a_star * lam)), abs=1e-6)
    # multipliers are those of I + αJ; stable exactly below the crossing
    lam_all = np.asarray(gdgan.stability(field, y_star).eigenvalues)
    mus = 1 + br.p[:, None] * lam_all[None, :]
    np.testing.assert_allclose(
        np.sort(np.abs(br.eigenvalues), 1), np.sort(np.abs(mus), 1), atol=1e-12
    )
    np.testing.assert_array_equal(br.stable, br.p < a_star)


def test_dirac_wgan_closed_form_crossings():
    """Dirac-WGAN (J = [[0, −1], [1, 0]]). Extragradient: μ = 1 + αλ + α²λ² with λ = ±i,
    |μ|² = (1 − α²)² + α² = 1 − α² + α⁴ < 1 iff α < 1: a Neimark–Sacker point at α = 1
    with angle arg(i) = π/2. Alternating SGD: [[1, −α], [α, 1 − α²]], det 1, trace 2 − α²:
    on the unit circle for α < 2, a flip at α = 2 (trace −2)."""
    s = gdgan.systems.get("dirac", loss="wgan")
    eg = gdgan.continuation_discrete(
        s.field(), s.equilibrium, 0.1, 1.5, method="extragradient", n_points=8
    )
    assert [b.kind for b in eg.points] == ["neimark_sacker"]
    assert eg.points[0].p == pytest.approx(1.0, abs=1e-8)
    assert eg.points[0].frequency == pytest.approx(np.pi / 2, abs=1e-6)
    alt = gdgan.continuation_discrete(
        s.field(), s.equilibrium, 0.1, 2.5, order="alternating", n_points=8
    )
    assert [b.kind for b in alt.points] == ["flip"]
    assert alt.points[0].p == pytest.approx(2.0, abs=1e-8)
    assert not np.any(alt.stable)  # marginal (ρ = 1) before, unstable after


@pytest.mark.parametrize(
    "method, order",
    [("optimistic", "simultaneous"), ("gd", "alternating"), ("extragradient", "alternating")],
)
def test_discrete_crossing_against_spectral_radius(method, order):
    """Where no closed form is at hand, the located step must be where
    `discrete_stability`'s spectral radius crosses 1: ρ < 1 just below, ρ > 1 just above."""
    field, y_star = lq_gp(0.25, 1.5)
    br = gdgan.continuation_discrete(
        field, y_star, 0.01, 1.0, method=method, order=order, n_points=12
    )
    assert br.points, "a crossing must exist in (0.01, 1)"
    a = br.points[0].p
    opt = {
        "gd": optax.sgd,
        "optimistic": optax.optimistic_gradient_descent,
        "extragradient": gdgan.extragradient,
    }[method]

    def rho(alpha):
        return float(
            gdgan.discrete_stability(field, y_star, opt(alpha), order=order).spectral_radius
        )

    assert rho(a * (1 - 1e-6)) < 1 < rho(a * (1 + 1e-6))
    assert np.all(br.stable[br.p < a]) and not np.any(br.stable[br.p > a])


# -- bad input ------------------------------------------------------------------------------------
def test_bad_input_errors():
    y0 = state(1.0, 0.0)
    with pytest.raises(ValueError, match="p_stop: expected a value different"):
        gdgan.continuation(fold_of, y0, 1.0, 1.0)
    with pytest.raises(TypeError, match="field_of: expected a callable"):
        gdgan.continuation(3.0, y0, 1.0, 0.0)
    with pytest.raises(ValueError, match="y0: expected a state near an equilibrium"):
        gdgan.continuation(fold_of, y0, -1.0, 0.0)  # no equilibrium at p = −1
    with pytest.raises(ValueError, match="y0: expected a dict"):
        gdgan.continuation(fold_of, jnp.ones(2), 1.0, 0.0)
    with pytest.raises(ValueError, match="ds: expected a positive"):
        gdgan.continuation(fold_of, y0, 1.0, 0.0, ds=-0.1)
    with pytest.raises(ValueError, match="max_points: expected an integer >= 2"):
        gdgan.continuation(fold_of, y0, 1.0, 0.0, max_points=1)
    with pytest.raises(ValueError, match="p_start: expected a finite"):
        gdgan.continuation(fold_of, y0, float("nan"), 0.0)

    def line_of(p):  # a line of equilibria x + y = 0 for every p: no curve to follow
        def field(t, y, args):
            s = y["disc"] + y["gen"]
            return {"disc": -s, "gen": s}

        return field

    with pytest.raises(ValueError, match="continuum"):
        gdgan.continuation(line_of, state(0.5, -0.5), 0.0, 1.0)
    s = gdgan.systems.get("dirac", loss="wgan")
    with pytest.raises(ValueError, match="lr_start: expected a positive"):
        gdgan.continuation_discrete(s.field(), s.equilibrium, 0.0, 1.0)
    with pytest.raises(ValueError, match="method: expected one of"):
        gdgan.continuation_discrete(s.field(), s.equilibrium, 0.1, 1.0, method="adam")
    with pytest.raises(ValueError, match="y_star: expected an equilibrium"):
        gdgan.continuation_discrete(fold_of(-1.0), y0, 0.1, 1.0)


def test_max_points_stops_early():
    """A branch cut short says so."""
    br = gdgan.continuation(curved_of, state(0.0, 0.0), -2.0, 3.0, ds=0.1, ds_max=0.1, max_points=3)
    assert br.status == "max_points" and len(br.p) == 3 and br.p[-1] < 3.0
    assert "max_points" in br.message
    assert jax.tree_util.tree_structure(br.y) == jax.tree_util.tree_structure(state(0.0, 0.0))
