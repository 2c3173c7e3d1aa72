"""The 8×8 digits experiment: the classifier-based metrics on images whose answer is known
(real digits cover all ten classes confidently, constant images one class), the game's
shapes, the pipeline in a tiny configuration, and the verdict both ways."""

import jax
import numpy as np
import pytest

import gdgan
from gdgan._reproduce import digits as rd
from gdgan.systems._digits import digit_classifier, digit_metrics, digits_system, load_digits

TINY = dict(
    steps=4,
    snapshots=2,
    eig_snapshots=1,
    lr=1e-3,
    batch=8,
    eval_samples=64,
    n_samples=16,
    eig_k=2,
    eig_tol=1e-2,
    eig_ncv=12,
    eig_restarts=5,
)


def test_load_digits_scale_and_labels():
    x, y = load_digits(labels=True)
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert x.min() == -1.0 and x.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))
    np.testing.assert_array_equal(load_digits(), x)


def test_metrics_on_real_digits_cover_every_class_confidently():
    """Real digits: every class is about 10 % of the data set, so all 10 are covered, and
    the classifier (98 % held-out accuracy) is confident on them."""
    clf = digit_classifier()
    assert clf is digit_classifier()  # fitted once per process
    assert clf.held_out_accuracy > 0.95
    m = digit_metrics(load_digits(), clf)
    assert m["coverage"] == 10
    assert m["mean_confidence"] > 0.8
    hist = np.array(m["class_histogram"])
    assert hist.sum() == pytest.approx(1.0) and hist.min() > 0.08
    # (n, 8, 8) images give the same numbers
    assert digit_metrics(load_digits().reshape(-1, 8, 8)) == m


@pytest.mark.parametrize("value", [-1.0, 0.0, 1.0])
def test_metrics_on_constant_images_cover_one_class(value):
    m = digit_metrics(np.full((200, 64), value))
    assert m["coverage"] == 1
    assert sorted(m["class_histogram"])[-1] == 1.0


def test_metrics_thresholds_and_non_finite_images():
    x = load_digits()[:50]
    one_image = np.concatenate([np.repeat(x[:1], 99, 0), x[1:2]])  # one sample of another digit
    assert digit_metrics(one_image, min_fraction=0.01)["coverage"] == 2
    assert digit_metrics(one_image, min_fraction=0.02)["coverage"] == 1
    bad = x.copy()
    bad[:25] = np.nan
    m = digit_metrics(bad)
    assert sum(m["class_histogram"]) == pytest.approx(0.5)
    assert m["mean_confidence"] <= 0.5
    assert digit_metrics(np.full((4, 64), np.inf)) == {
        "coverage": 0,
        "mean_confidence": 0.0,
        "confident_fraction": 0.0,
        "class_histogram": [0.0] * 10,
    }


def test_argument_errors():
    with pytest.raises(ValueError, match=r"digit_metrics: `images` must have shape \(n, 64\)"):
        digit_metrics(np.zeros((3, 7)))
    with pytest.raises(ValueError, match="digit_metrics: `images`.*got \\(0, 64\\)"):
        digit_metrics(np.zeros((0, 64)))
    with pytest.raises(ValueError, match="`min_fraction` must be in"):
        digit_metrics(np.zeros((3, 64)), min_fraction=0.0)
    with pytest.raises(ValueError, match="digits_system: `width` must be a positive integer"):
        digits_system(width=0)
    with pytest.raises(ValueError, match="`latent_dim` must be a positive integer, got 2.5"):
        digits_system(latent_dim=2.5)
    with pytest.raises(ValueError, match="loss: expected one of"):
        digits_system(loss="nope")


def test_game_shapes_and_field():
    s = digits_system(width=8, latent_dim=3, n_samples=32)
    n_disc = 64 * 8 + 8 + 8 + 1
    n_gen = 3 * 8 + 8 + 8 * 8 + 8 + 8 * 64 + 64
    assert s.equilibrium is None and s.n == n_disc + n_gen
    z = s.game.latent.sample(jax.random.PRNGKey(0), 5)
    x = jax.vmap(lambda zz: s.game.G(s.init["gen"], zz))(z)
    assert x.shape == (5, 64) and np.all(np.abs(np.asarray(x)) < 1)
    field = s.field(gdgan.GradientPenalty(0.5))
    h = jax.eval_shape(lambda y: field(0.0, y, None), s.init)
    shapes = lambda t: jax.tree_util.tree_map(lambda a: a.shape, t)  # noqa: E731
    assert shapes(h) == shapes(s.init)
    # the orthogonal initialisation: W W^T = gain² I for the wide-to-narrow layers
    w = np.asarray(s.init["disc"][0]["W"])
    np.testing.assert_allclose(w @ w.T, 0.64 * np.eye(8), atol=1e-12)


def test_pipeline_tiny(tmp_path):
    """Train, measure and plot in a tiny configuration (GAN with and without the penalty:
    one compilation)."""
    methods = [m for m in rd.digits_methods() if m[1] == "gan"]
    numbers, snaps = rd.run_digits(
        {**TINY, "seeds": 2}, methods=methods, system_params=dict(width=4, latent_dim=2)
    )
    assert set(numbers["methods"]) == {"GAN (η = 0)", "GAN + penalty (η = 0.5)"}
    for m in numbers["methods"].values():
        assert m["iterations"] == [0, 2, 4]
        assert all(0 <= c <= 10 for c in m["coverage"])
        assert all(0 <= c <= 1 for c in m["mean_confidence"])
        assert m["eigen_iterations"] == [4]
        ev = np.array(m["rightmost_eigenvalues"][0])
        assert ev.shape == (2, 2) and np.all(np.isfinite(ev))
        assert m["max_real"] == [ev[0, 0]]
    # confident coverage separates noise (0 digits) from real held-out digits (all 10)
    assert numbers["coverage_uniform_noise"] <= rd.NOISE_COVERAGE_MAX
    assert numbers["coverage_real_held_out"] == 10
    assert 0.5 < numbers["confidence_uniform_noise"] < numbers["confidence_real_held_out"]
    assert numbers["seeds"] == 2 and all(
        len(m["coverage_late_seeds"]) == 2 for m in numbers["methods"].values()
    )
    assert len(snaps["GAN (η = 0)"][1]) == 3 and snaps["GAN (η = 0)"][1][0].shape == (64, 64)
    figs = rd._figures(numbers, snaps, tmp_path)
    assert all((tmp_path / f).stat().st_size > 5_000 for f in figs)
    assert "| GAN + penalty (η = 0.5) |" in rd._table(numbers)


def good_numbers():
    def run(loss, eta, coverage, confidence):
        return {
            "loss": loss,
            "eta": eta,
            "clip": None,
            "coverage_late_mean": coverage,
            "confidence_late_mean": confidence,
        }

    return {
        "confidence_uniform_noise": 0.6,
        "confidence_real_held_out": 0.94,
        "coverage_uniform_noise": 0,
        "seeds": 5,
        "methods": {
            "GAN (η = 0)": run("gan", 0.0, 3.0, 0.8),
            "GAN + penalty (η = 0.5)": run("gan", 0.5, 10.0, 0.82),
            "WGAN (η = 0)": run("wgan", 0.0, 2.0, 0.8),
            "WGAN + penalty (η = 0.5)": run("wgan", 0.5, 9.3, 0.8),
        },
    }


@pytest.mark.parametrize(
    "label, change, message",
    [
        ("GAN + penalty (η = 0.5)", {"coverage_late_mean": 2.0}, "penalised GAN covers fewer"),
        ("WGAN + penalty (η = 0.5)", {"coverage_late_mean": 2.0}, "WGAN covers 2.0 digits"),
        ("WGAN + penalty (η = 0.5)", {"coverage_late_mean": 7.0}, "≥ 8"),
        ("WGAN (η = 0)", {"coverage_late_mean": 9.3}, "more than without"),
        ("GAN + penalty (η = 0.5)", {"confidence_late_mean": 0.55}, "not above the midpoint"),
        ("GAN + penalty (η = 0.5)", {"confidence_late_mean": 0.7}, "loses sample quality"),
    ],
)
def test_verdict_both_ways(label, change, message):
    ok, reason = rd.verdict_digits(good_numbers())
    assert ok and "WGAN: 9.3 vs 2.0 digits covered" in reason
    numbers = good_numbers()
    numbers["methods"][label].update(change)
    ok, reason = rd.verdict_digits(numbers)
    assert not ok and message in reason


def test_confident_coverage_counts_only_confident_images():
    """With `min_confidence`, a class is covered only by images classified with at least
    that probability: real digits keep all 10 classes at 0.99, uniform noise (on which the
    classifier is overconfident at 0.9) covers none, and `confident_fraction` is the share
    of images above the threshold."""
    clf = digit_classifier()
    noise = np.random.default_rng(3).uniform(-1.0, 1.0, (1000, 64))
    proba = clf.predict_proba(noise).max(axis=1)
    m = digit_metrics(noise, clf, min_confidence=0.99)
    assert m["coverage"] == 0 and m["confident_fraction"] == pytest.approx(np.mean(proba >= 0.99))
    assert digit_metrics(load_digits(), clf, min_confidence=0.99)["coverage"] == 10
    assert digit_metrics(noise, clf)["coverage"] == 10
    with pytest.raises(ValueError, match="min_confidence"):
        digit_metrics(noise, clf, min_confidence=1.5)
