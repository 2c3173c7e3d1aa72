r"""scikit-learn's 8×8 handwritten digits as a small image GAN, and classifier-based metrics.

The data set ships with scikit-learn (1 797 images of the digits 0–9, 16 grey levels; no
download). `digits_system` builds a `gdgan.Game` on it with small MLP players; a logistic
regression fitted once per process on real digits scores generated images:
*class coverage* (how many of the ten digits a generator produces) and *mean confidence*
(how digit-like its samples look to the classifier), the image analogues of the
8-Gaussian ring's modes covered and high-quality samples (`gdgan.mode_coverage`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import InputError
from .._distributions import Empirical, MonteCarlo, Normal
from .._game import Game
from ._registry import System
from ._ring import _mlp

SIDE = 8
N_CLASSES = 10
HELD_OUT = 297  # images kept out of the classifier's training set (1 500 + 297 = 1 797)


def load_digits(*, labels=False):
    r"""scikit-learn's bundled 8×8 digits as flat float arrays in $[-1, 1]$
    (grey level $g \in \{0, …, 16\}$ maps to $g/8 - 1$; background is $-1$).

    **Arguments:** `labels`: also return the digit of each image.

    **Returns:** `images` `(1797, 64)` float NumPy array (row-major 8×8), and `(1797,)` int
    labels when `labels=True`.

    ```python
    x, y = gdgan.load_digits(labels=True)   # x.shape == (1797, 64), x.min() == -1
    ```
    """
    try:
        from sklearn.datasets import load_digits as sk_load
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits: needs scikit-learn (pip install 'gdgan[repro]')") from e
    d = sk_load()
    x = d.data.astype(np.float64) / 8.0 - 1.0
    return (x, d.target.astype(np.int64)) if labels else x


@functools.lru_cache(maxsize=1)
def digit_classifier():
    """A multinomial logistic regression fitted once per process on 1 500 real digits (a fixed
    random split; the other 297 are held out). Its `held_out_accuracy` attribute is the
    accuracy on those 297 (about 0.98).

    **Returns:** a fitted `sklearn.linear_model.LogisticRegression` on `load_digits()` pixels.

    ```python
    clf = gdgan.digit_classifier()
    clf.held_out_accuracy
    ```
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x, y = load_digits(labels=True)
    idx = np.random.default_rng(0).permutation(len(x))
    train, test = idx[:-HELD_OUT], idx[-HELD_OUT:]
    # one BLAS thread: tiny problem, and oversubscribed threads make it ~50× slower
    with threadpool_limits(1):
        clf = LogisticRegression(max_iter=2000).fit(x[train], y[train])
        clf.held_out_accuracy = float(np.mean(clf.predict(x[test]) == y[test]))
    return clf


def digit_metrics(images, classifier=None, *, min_fraction=0.01, min_confidence=0.0):
    r"""Class coverage and confidence of a set of (generated) digit images.

    Each image gets the classifier's probabilities $p(c \mid x)$; its class is the argmax and
    its confidence the max. A class is *covered* when at least `min_fraction` of the images
    are assigned to it with confidence at least `min_confidence` (default 0: every image
    counts; e.g. 0.9 counts only confidently classified images, so that uniform noise
    covers almost nothing). Non-finite images (a diverged generator) count as no class with
    confidence 0.

    **Arguments:** `images` `(n, 64)` or `(n, 8, 8)` in `load_digits`'s scale; `classifier`
    (default `digit_classifier()`), anything with `predict_proba`; `min_fraction`;
    `min_confidence`.

    **Returns:** a dict with `coverage` (int, 0–10), `mean_confidence` (float),
    `confident_fraction` (the fraction of images at or above `min_confidence`) and
    `class_histogram` (list of 10 fractions over the images counted; they sum to the
    fraction of finite, confident images).

    ```python
    gdgan.digit_metrics(gdgan.load_digits())["coverage"]   # 10
    ```
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE or len(x) == 0:
        raise InputError(
            f"digit_metrics: `images` must have shape (n, 64) or (n, 8, 8) with n >= 1, "
            f"got {x.shape}"
        )
    if not 0 < min_fraction <= 1:
        raise InputError(f"digit_metrics: `min_fraction` must be in (0, 1], got {min_fraction!r}")
    if not 0 <= min_confidence <= 1:
        raise InputError(
            f"digit_metrics: `min_confidence` must be in [0, 1], got {min_confidence!r}"
        )
    clf = digit_classifier() if classifier is None else classifier
    ok = np.all(np.isfinite(x), axis=1)
    conf = np.zeros(len(x))
    hist = np.zeros(N_CLASSES)
    if ok.any():
        proba = clf.predict_proba(x[ok])
        conf[ok] = proba.max(axis=1)
        sure = proba.max(axis=1) >= min_confidence
        hist = np.bincount(proba.argmax(axis=1)[sure], minlength=N_CLASSES) / len(x)
    return {
        "coverage": int(np.sum(hist >= min_fraction)),
        "mean_confidence": float(conf.mean()),
        "confident_fraction": float(
            np.mean(conf >= min_confidence) if min_confidence else ok.mean()
        ),
        "class_histogram": [float(h) for h in hist],
    }


# Module-level players (not lambdas), so that equal systems share compiled code.
def _digits_disc(p, x):
    return _mlp(p, x)[0]


def _digits_gen(p, z):
    return jnp.tanh(_mlp(p, z))


def _orthogonal_mlp(rng, sizes, gain):
    """Layers `{"W": (n, m), "b": (n,)}` with (semi-)orthogonal `W` scaled by `gain` and zero
    `b`, drawn with NumPy (eager JAX initialisers compile one kernel per operation)."""
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        q, r = np.linalg.qr(rng.standard_normal((max(m, n), min(m, n))))
        q = q * np.sign(np.diag(r))
        w = q if n >= m else q.T
        layers.append({"W": jnp.asarray(gain * w, dtype=float), "b": jnp.zeros((n,), float)})
    return layers


def digits_system(width=64, latent_dim=16, n_samples=512, seed=0, loss="gan", gain=0.8) -> System:
    r"""A small GAN on the 8×8 digits: data `gdgan.Empirical(load_digits())` (1 797 images
    in $[-1, 1]^{64}$); latent $\mathcal N(0, I_{latent\_dim})$; $G$: latent → width → width
    → 64 ReLU MLP with a tanh output; $D$: 64 → width ReLU → 1 logit (a linear critic output
    for `loss="wgan"`); orthogonal init (`gain`), as `gdgan.systems.ring`. The game's
    deterministic expectation (used by the field and its spectra) is a fixed Monte Carlo
    rule of `n_samples` data and latent samples; `gdgan.train(..., batch=b)` instead draws
    fresh minibatches (data rows with replacement) at every step. No closed-form
    equilibrium (`equilibrium` is `None`).

    **Returns:** a `gdgan.systems.System` (`game`, `init`, `field(*regularizers)`, ...).

    ```python
    s = gdgan.digits_system(loss="wgan")
    out = gdgan.train(s.game, s.init, optax.adam(1e-3, b1=0.5), 500, order="alternating",
                      regularizers=[gdgan.GradientPenalty(0.5)], batch=64, key=key)
    ```
    """
    for name, val in (("width", width), ("latent_dim", latent_dim), ("n_samples", n_samples)):
        if isinstance(val, bool) or int(val) != val or val < 1:
            raise InputError(f"digits_system: `{name}` must be a positive integer, got {val!r}")
    width, latent_dim, n_samples = int(width), int(latent_dim), int(n_samples)
    game = Game(
        discriminator=_digits_disc,
        generator=_digits_gen,
        data=Empirical(jnp.asarray(load_digits(), dtype=float)),
        latent=Normal(jnp.zeros((latent_dim,)), 1.0),
        loss=loss,
        expectation=MonteCarlo(n_samples, jax.random.PRNGKey(seed)),
    )
    rng = np.random.default_rng(seed + 1)
    init = {
        "disc": _orthogonal_mlp(rng, [SIDE * SIDE, width, 1], gain),
        "gen": _orthogonal_mlp(rng, [latent_dim, width, width, SIDE * SIDE], gain),
    }
    params = dict(
        width=width, latent_dim=latent_dim, n_samples=n_samples, seed=seed, loss=loss, gain=gain
    )
    return System(
        "digits",
        game,
        None,
        init,
        params,
        "scikit-learn 8x8 digits with small ReLU MLPs (tanh generator output)",
    )
