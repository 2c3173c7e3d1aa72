"""Mode coverage and high-quality fraction on synthetic samples with known answers."""

import jax
import jax.numpy as jnp
import numpy as np

import gdgan
from gdgan._reproduce import ring as ring


def centers(k=8, r=2.0):
    a = 2 * np.pi * np.arange(k) / k
    return np.stack([r * np.cos(a), r * np.sin(a)], 1)


def test_all_modes_covered_by_samples_from_the_ring():
    """Samples from the ring itself: every mode holds ≈ 1/8 of them and 3σ contains
    99.7 %² ≈ 98.9 % of a 2-D Gaussian per axis-product (radius 3σ disk: 1 − e^{−4.5} = 98.9 %)."""
    ring_dist = gdgan.systems.get("ring", width=4, latent_dim=2, n_samples=8).game.data
    x = ring_dist.sample(jax.random.PRNGKey(0), 20_000)
    covered, quality, per_mode = gdgan.mode_coverage(x, centers(), 0.02)
    assert int(covered) == 8
    assert abs(float(quality) - (1 - np.exp(-4.5))) < 0.005
    np.testing.assert_allclose(per_mode, (1 - np.exp(-4.5)) / 8, atol=0.01)


def test_collapsed_and_off_mode_samples():
    c = centers()
    collapsed = jnp.tile(jnp.asarray(c[3]), (1000, 1))  # all on one mode
    covered, quality, _ = gdgan.mode_coverage(collapsed, c, 0.02)
    assert int(covered) == 1 and float(quality) == 1.0
    far = jnp.zeros((1000, 2))  # all at the centre
    covered, quality, _ = gdgan.mode_coverage(far, c, 0.02)
    assert int(covered) == 0 and float(quality) == 0.0
    # 0.5 % of samples on mode 0 is below the 1 % threshold; 2 % on mode 1 is above it.
    mix = jnp.concatenate(
        [
            jnp.tile(jnp.asarray(c[0]), (5, 1)),
            jnp.tile(jnp.asarray(c[1]), (20, 1)),
            jnp.zeros((975, 2)),
        ]
    )
    covered, quality, _ = gdgan.mode_coverage(mix, c, 0.02)
    assert int(covered) == 1 and abs(float(quality) - 0.025) < 1e-12


def test_ring_pipeline_tiny(tmp_path):
    """The nk-ring pipeline end to end on a tiny ring (width 8, 20 Adam steps, two methods):
    per-snapshot metrics have the right length and range, the eigenvalues are finite, and
    the figures are written."""
    cfg = dict(
        steps=20, snapshots=2, lr=1e-3, lr_end=1e-4, eval_samples=200, eig_tol=1e-4,
        eig_restarts=2, seeds=2, chunk=10,
    )  # fmt: skip
    kw = dict(
        methods=ring.ring_methods()[:2], system_params=dict(width=8, latent_dim=4, n_samples=16)
    )
    numbers, snaps, centres = ring.run_ring(cfg, checkpoint=tmp_path / "ck", **kw)
    for m in numbers["methods"].values():
        assert m["iterations"] == [0, 10, 20]
        assert np.array(m["modes_covered_per_seed"]).shape == (2, 3)
        assert all(0 <= c <= 8 for c in m["modes_covered"])
        assert all(0.0 <= q <= 1.0 for q in m["high_quality"])
        assert len(m["modes_late_seeds"]) == 2
        assert np.all(np.isfinite(np.array(m["rightmost_eigenvalues"])))
    # the seeds differ (own initialisation and minibatches), and a rerun resumes from the
    # checkpoint: the same numbers without retraining
    for f in (tmp_path / "ck").glob("ring_*.npz"):
        assert int(np.load(f)["done"]) == 20
    again, _, _ = ring.run_ring(cfg, checkpoint=tmp_path / "ck", **kw)
    assert again["methods"] == numbers["methods"]
    assert centres.shape == (8, 2)
    figs = ring._figures(numbers, snaps, centres, tmp_path)
    assert all((tmp_path / f).stat().st_size > 5_000 for f in figs)
