"""Regions of attraction: `basin_radius`, `basin_slice` and `lyapunov_certificate` against
a planar field whose basin is known exactly, the certificate inside the true basin (disk
system and LQ GAN), the `roa` reproduction's verdict both ways and end to end (tiny
configuration), and the argument errors.

Every call on one field uses the same simulation options and batch size (`chunk_size`),
so each field is compiled once for the whole file."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdgan
from gdgan._basin import basin_radius, basin_slice, lyapunov_certificate, solve_lyapunov
from gdgan._reproduce import REPRODUCTIONS
from gdgan._reproduce import roa as roa

K = 8  # directions = batch size everywhere below
DISK = dict(t1=40.0, chunk_size=K)
ORIGIN = {"disc": jnp.array(0.0), "gen": jnp.array(0.0)}


def disk(t, y, args):
    r"""In polar form $\dot r = -r(1 - r^2)$, $\dot θ = 1$: the origin attracts exactly the
    open unit disk (r = 1 is an unstable limit cycle; outside, r blows up in finite time).
    With $x = r\cos θ$, $z = r\sin θ$: $\dot x = \dot r \cos θ - r \sin θ\,\dot θ =
    -x(1 - r^2) - z$ and $\dot z = -z(1 - r^2) + x$. The Jacobian at 0 is
    $[[-1, -1], [1, -1]]$, so $J^T P + P J = -I$ gives $P = I/2$, $V = r^2/2$ and
    $\dot V = -r^2(1 - r^2) < 0$ exactly on the punctured unit disk."""
    x, z = y["disc"], y["gen"]
    q = 1.0 - (x**2 + z**2)
    return {"disc": -x * q - z, "gen": -z * q + x}


def test_disk_radius_is_one_in_every_direction(key):
    tol = 1 / 64
    b = basin_radius(disk, ORIGIN, directions=K, r_max=2.0, tol=tol, key=key, **DISK)
    assert b.radii.shape == (K,) and b.directions.shape == (K, 2)
    np.testing.assert_allclose(np.linalg.norm(b.directions, axis=1), 1.0)
    assert np.all(np.abs(b.radii - 1.0) <= tol), b.radii
    assert np.all(b.upper - b.radii <= tol) and not b.hit_r_max.any()
    s = b.summary()
    assert abs(s["median"] - 1.0) <= tol and s["hit_r_max"] == 0.0 and s["n_directions"] == K
    # a given direction array; r_max inside the basin is flagged as a lower bound
    d = np.array([[1.0, 0.0], [0.0, -3.0]])
    b = basin_radius(disk, ORIGIN, directions=d, r_max=0.5, tol=tol, **DISK)
    np.testing.assert_allclose(b.directions, [[1, 0], [0, -1]])
    assert np.all(b.hit_r_max) and np.all(b.radii == 0.5) and b.summary()["hit_r_max"] == 1.0


def test_disk_slice_and_certificate_inside_the_unit_disk():
    sl = basin_slice(disk, ORIGIN, extent=1.5, n=16, **DISK)
    r = np.hypot(*np.meshgrid(sl.a, sl.b))
    clear = np.abs(r - 1.0) > 0.05
    np.testing.assert_array_equal(sl.in_basin[clear], (r < 1.0)[clear])
    assert set(sl.outcome_name[clear & (r > 1)].tolist()) == {"diverged"}
    assert np.all(np.isfinite(sl.t_converge[sl.in_basin]))
    assert np.all(np.isnan(sl.t_converge[~sl.in_basin]))

    cert = lyapunov_certificate(disk, ORIGIN, r_max=2.0, n_samples=256)
    np.testing.assert_allclose(cert.P, 0.5 * np.eye(2), atol=1e-12)
    assert not cert.limited_by_r_max
    assert 0.9 < cert.radius_lower <= 1.0  # certified, and inside the true basin
    a, b = cert.ellipse(sl.u, sl.v)
    assert np.all(np.hypot(a, b) <= 1.0)


def test_solve_lyapunov_matches_the_equation(key):
    """Random Hurwitz J (shifted so the spectral abscissa is −1): the residual vanishes and
    P is symmetric positive definite."""
    import jax

    A = np.asarray(jax.random.normal(key, (5, 5)))
    J = A - (np.max(np.linalg.eigvals(A).real) + 1.0) * np.eye(5)
    P = np.asarray(solve_lyapunov(J))
    np.testing.assert_allclose(J.T @ P + P @ J, -np.eye(5), atol=1e-10)
    np.testing.assert_allclose(P, P.T)
    assert np.all(np.linalg.eigvalsh(P) > 0)


# One LQ configuration, shared with the reproduction below (same compiled simulation).
TINY = dict(
    directions=4,
    slice_n=6,
    rtol=1e-8,
    tol_frac=1 / 8,
    ring=False,
    slices=("lq-gan",),
    etas={"lq-gan": (0.0, 0.5), "lq-wgan": (0.0, 0.5)},
)


def test_lyapunov_certificate_inside_lq_gan_basin():
    """Every grid point of the certified ellipse (on the LQ GAN's whole (w, a) plane)
    converges to the equilibrium under `simulate`; the certified ball is also inside the
    sampled radii."""
    s = gdgan.systems.get("lq", loss="gan")
    f = s.field(gdgan.GradientPenalty(0.0))
    cert = lyapunov_certificate(f, s.equilibrium, r_max=4.0, n_samples=256, n_shells=32)
    assert 0 < cert.radius_lower < 1.0 and not cert.limited_by_r_max  # a = 0 is invariant
    ea, eb = cert.ellipse(np.eye(2)[0], np.eye(2)[1])
    sl = basin_slice(
        f,
        s.equilibrium,
        extent=(ea.min(), ea.max(), eb.min(), eb.max()),
        n=8,
        t1=100.0,
        rtol=1e-8,
        atol=1e-8,
        chunk_size=TINY["directions"],
    )
    inside = roa._inside(cert, sl)
    assert inside.sum() >= 20
    assert np.all(sl.in_basin[inside])


def good_numbers():
    row = lambda eta, m, verdict="stable": {  # noqa: E731
        "eta": eta,
        "verdict": verdict,
        "min": m,
        "median": m,
        "max": m,
        "mean": m,
        "hit_r_max": 0.0,
    }
    return {
        "systems": {
            "lq-gan": {"tol": 0.1, "marginal_at_0": False, "rows": [row(0.0, 1.0), row(0.5, 1.0)]},
            "lq-wgan": {
                "tol": 0.1,
                "marginal_at_0": True,
                "rows": [row(0.0, 0.0, "marginal"), row(0.5, 2.0)],
            },
        }
    }


def test_verdict_roa_both_ways():
    ok, reason = roa.verdict_roa(good_numbers())
    assert ok and "lq-wgan 0 → 2" in reason
    shrunk = good_numbers()
    shrunk["systems"]["lq-gan"]["rows"][1].update(min=0.5, median=0.5)
    ok, reason = roa.verdict_roa(shrunk)
    assert not ok and "lq-gan η=0.5" in reason
    centre = good_numbers()
    centre["systems"]["lq-wgan"]["rows"][1].update(min=0.0, median=0.0, max=0.0)
    ok, reason = roa.verdict_roa(centre)
    assert not ok and "leaves the radius" in reason
    typical = good_numbers()  # a marginal point may attract a few directions, not most
    typical["systems"]["lq-wgan"]["rows"][0].update(max=2.0)
    assert roa.verdict_roa(typical)[0]
    typical["systems"]["lq-wgan"]["rows"][0].update(median=1.0, max=2.0)
    ok, reason = roa.verdict_roa(typical)
    assert not ok and "marginal at η = 0 but median radius" in reason
    leak = good_numbers()
    leak["systems"]["lq-gan"]["rows"][1]["certificate_inside_sampled_basin"] = False
    assert not roa.verdict_roa(leak)[0]
    assert not roa.verdict_roa({"systems": {}})[0]


def test_roa_reproduction_tiny(tmp_path, monkeypatch):
    """End to end in a tiny configuration: the LQ GAN's radius does not shrink with the
    penalty (its basin is the half-plane a > 0: radius ≥ 1 = σ in every direction), the
    LQ WGAN's centre (radius 0) becomes an attractor, figures are written."""
    monkeypatch.setattr(roa, "QUICK", TINY)
    sec = REPRODUCTIONS["roa"](tmp_path, True)
    assert sec.reproduced, sec.reason
    gan, wgan = sec.numbers["systems"]["lq-gan"], sec.numbers["systems"]["lq-wgan"]
    assert all(r["min"] >= 1.0 - gan["tol"] for r in gan["rows"])
    assert wgan["marginal_at_0"] and wgan["rows"][0]["max"] == 0.0
    assert wgan["rows"][1]["min"] >= 1.0 - wgan["tol"]
    pen = gan["rows"][1]
    assert pen["certificate_inside_sampled_basin"] and pen["certificate_points_checked"] > 0
    assert "| lq-wgan | 0 | marginal | 0 |" in sec.table
    for fig in sec.figures:
        assert (tmp_path / fig).stat().st_size > 10_000


def test_argument_errors():
    with pytest.raises(ValueError, match="basin_radius: r_max: expected a positive finite number"):
        basin_radius(disk, ORIGIN, r_max=-1.0)
    with pytest.raises(ValueError, match=r"basin_radius: directions: expected shape \(k, 2\)"):
        basin_radius(disk, ORIGIN, directions=np.ones((3, 5)), r_max=1.0)
    with pytest.raises(ValueError, match="directions: expected finite non-zero rows"):
        basin_radius(disk, ORIGIN, directions=np.zeros((2, 2)), r_max=1.0)
    with pytest.raises(ValueError, match="directions: expected a positive integer"):
        basin_radius(disk, ORIGIN, directions=0, r_max=1.0)
    with pytest.raises(ValueError, match="basin_radius: tol: expected a positive finite number"):
        basin_radius(disk, ORIGIN, r_max=1.0, tol=0.0)
    with pytest.raises(TypeError, match="`field` must be a callable"):
        basin_radius("disk", ORIGIN, r_max=1.0)
    with pytest.raises(ValueError, match="y_star: expected a dict"):
        basin_radius(disk, {"d": 0.0}, r_max=1.0)
    with pytest.raises(ValueError, match="basin_slice: extent: expected a positive number or"):
        basin_slice(disk, ORIGIN, extent=(1.0, -1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="`v` must not be parallel"):
        basin_slice(disk, ORIGIN, u=[1.0, 0.0], v=[2.0, 0.0])

    def centre(t, y, args):
        return {"disc": y["gen"], "gen": -y["disc"]}

    with pytest.raises(ValueError, match="lyapunov_certificate: `y_star` is not exponentially"):
        lyapunov_certificate(centre, ORIGIN)
    from conftest import small_ring

    ring = small_ring()
    with pytest.raises(
        ValueError, match=r"y_star: expected a dense 105 × 105 .*gdgan.basin_radius"
    ):
        lyapunov_certificate(ring.field(), ring.init, memory_budget=1 << 20)
    with pytest.raises(ValueError, match="`margin` must be in"):
        lyapunov_certificate(disk, ORIGIN, margin=1.5)


def test_default_horizon_follows_the_slowest_mode():
    r"""Dirac-GAN with the penalty η = 0.5: λ² + 2ηf'(0)²λ + f'(0)² = 0 with f'(0) = 1/2 gives
    λ = −1/8 ± i√(15)/8, a slow spiral. A fixed t1 = 100 is too short for starts 0.6 away
    (not yet within converge_tol), so the radius collapses to ≈ 0.5; the default horizon,
    3 ln(r_max (1 + |λ|) / tol) / (1/8) ≈ 360, sees the whole disk of radius 2 converge —
    as a 2 000-unit simulation from every tested point confirms."""
    from gdgan._basin import default_horizon

    s = gdgan.systems.get("dirac", loss="gan")
    f = s.field(gdgan.GradientPenalty(0.5))
    lam = -1 / 8 + 1j * np.sqrt(15) / 8
    expected = 3 * np.log(2.0 * (1 + abs(lam)) / 1e-6) / (1 / 8)
    assert default_horizon(f, s.equilibrium, 2.0, 1e-6) == pytest.approx(expected, rel=1e-9)
    d = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [1.0, 1.0]])
    short = basin_radius(f, s.equilibrium, directions=d, r_max=2.0, t1=100.0, chunk_size=4)
    auto = basin_radius(f, s.equilibrium, directions=d, r_max=2.0, chunk_size=4)
    assert short.max < 1.0 and auto.min == 2.0 and auto.hit_r_max.all()
    for row in auto.directions:
        y0 = {"disc": {"psi": jnp.array(2.0 * row[0])}, "gen": {"theta": jnp.array(2.0 * row[1])}}
        out = gdgan.simulate(
            f, y0, 2000.0, y_star=s.equilibrium, converge_tol=1e-6, rtol=1e-8, atol=1e-8
        )
        assert out.outcome == gdgan.Outcome.converged and out.distance < 1e-3
