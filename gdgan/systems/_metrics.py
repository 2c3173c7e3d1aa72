"""Sample-quality metrics for mixtures of Gaussians (the authors' mode-collapse experiment)."""

from __future__ import annotations

import jax.numpy as jnp


def mode_coverage(samples, centers, std, *, radius=3.0, min_fraction=0.01):
    r"""Modes covered and the fraction of high-quality samples on a mixture of Gaussians.

    A sample is *high quality* when it lies within `radius`·`std` of some mode (the
    "high-quality samples within three standard deviations" of Srivastava et al. 2017,
    VEEGAN, for the 2-D ring); a mode is *covered* when at least `min_fraction` of all
    samples lie within `radius`·`std` of it (the 1 % threshold is gdgan's choice; Nagarajan
    & Kolter and Metz et al. show the ring's samples but do not define this count).

    **Arguments:** `samples` `(n, d)`, `centers` `(k, d)`, `std` (per-axis std of each
    mode); `radius`, `min_fraction`.

    **Returns:** `(modes_covered, high_quality_fraction, per_mode_fraction)`.

    ```python
    covered, quality, _ = gdgan.mode_coverage(samples, centers, 0.02)
    ```
    """
    samples, centers = jnp.asarray(samples), jnp.asarray(centers)
    dist = jnp.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    near = (dist <= radius * std).astype(dist.dtype)
    per_mode = jnp.mean(near, axis=0)
    covered = jnp.sum(per_mode >= min_fraction)
    quality = jnp.mean(jnp.max(near, axis=1))
    return covered, quality, per_mode
