"""Data and latent distributions, with sampling and exact quadrature rules.

A distribution is a small `eqx.Module` whose parameters are array leaves, so a sweep over
(say) the data's standard deviation is a `jax.vmap` over that leaf. Every distribution has
`.sample(key, n)`; those with an exact or Gaussian rule also have `.quadrature(n)`, which
returns `(points, weights)` with `weights.sum() == 1`.

Scalars give 1-D distributions (samples of shape `(n,)`); arrays give multivariate ones with
independent coordinates (samples of shape `(n, d)`), and their rules are tensor products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from ._checks import InputError, InputTypeError, check_int, check_positive, float_array

# Tensor-product rules grow as n**d; past this many points use Monte Carlo instead.
MAX_QUADRATURE_POINTS = 1_000_000


def _sample_dtype():
    """Samples are drawn and transformed in the widest enabled float type, then cast to the
    parameters' type: a float32 copy of a distribution draws the float64 samples rounded,
    not other random numbers (so a float32 copy of a field is the same estimate)."""
    return jnp.result_type(float)


class Distribution(eqx.Module):
    """Base class. Subclasses define `event_shape`, `sample` and, where a rule exists,
    `quadrature`."""

    @property
    def event_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def sample(self, key: PRNGKeyArray, n: int) -> Array:
        raise NotImplementedError

    def quadrature(self, n: int) -> tuple[Array, Array]:
        raise NotImplementedError(
            f"{type(self).__name__} has no quadrature rule; use gdgan.MonteCarlo(n, key)"
        )

    def quadrature_size(self, n: int) -> int | None:
        """Number of points of `quadrature(n)`, or `None` when there is no rule."""
        return None


def _tensor_rule(nodes: np.ndarray, weights: np.ndarray, shape: tuple[int, ...]):
    """Tensor product of a 1-D rule over the coordinates of `shape` (numpy, static)."""
    if shape == ():
        return nodes, weights
    d = math.prod(shape)
    if len(nodes) ** d > MAX_QUADRATURE_POINTS:
        raise InputError(
            f"quadrature: a tensor rule of {len(nodes)} points in {d} dimensions has "
            f"{len(nodes)}**{d} points; use gdgan.MonteCarlo(n, key) instead"
        )
    grids = np.meshgrid(*([nodes] * d), indexing="ij")
    pts = np.stack([g.reshape(-1) for g in grids], axis=-1).reshape(-1, *shape)
    wgrids = np.meshgrid(*([weights] * d), indexing="ij")
    w = np.prod(np.stack([g.reshape(-1) for g in wgrids], axis=-1), axis=-1)
    return pts, w


def _tensor_size(n: int, shape: tuple[int, ...]) -> int | None:
    size = n ** math.prod(shape)
    return size if size <= MAX_QUADRATURE_POINTS else None


class Normal(Distribution):
    r"""Gaussian $\mathcal N(\mu, \operatorname{diag}(\sigma^2))$; exact-for-polynomials
    Gauss–Hermite quadrature.

    **Arguments:** `mean`, `std` (broadcastable; scalars give a 1-D distribution).

    ```python
    pts, w = gdgan.Normal(0.0, 2.0).quadrature(10)   # sum(w * pts**2) == 4
    ```
    """

    mean: Array
    std: Array

    def __init__(self, mean, std):
        self.mean = float_array(mean, "Normal", "mean")
        self.std = check_positive(float_array(std, "Normal", "std"), "Normal", "std")
        jnp.broadcast_shapes(self.mean.shape, self.std.shape)

    @property
    def event_shape(self):
        return jnp.broadcast_shapes(self.mean.shape, self.std.shape)

    def sample(self, key, n):
        n = check_int(n, "Normal.sample", "n")
        wide = _sample_dtype()
        eps = jax.random.normal(key, (n, *self.event_shape), wide)
        return (self.mean.astype(wide) + self.std.astype(wide) * eps).astype(self.std.dtype)

    def quadrature(self, n):
        n = check_int(n, "Normal.quadrature", "n")
        nodes, weights = np.polynomial.hermite_e.hermegauss(n)
        pts, w = _tensor_rule(nodes, weights / math.sqrt(2 * math.pi), self.event_shape)
        return self.mean + self.std * jnp.asarray(pts, self.std.dtype), jnp.asarray(
            w, self.std.dtype
        )

    def quadrature_size(self, n):
        return _tensor_size(n, self.event_shape)


class Uniform(Distribution):
    r"""Uniform on the box $[\mathrm{low}, \mathrm{high}]$; Gauss–Legendre quadrature
    (exact for polynomials of degree $< 2n$).

    ```python
    pts, w = gdgan.Uniform(-1.0, 1.0).quadrature(4)   # sum(w * pts**2) == 1/3
    ```
    """

    low: Array
    high: Array

    def __init__(self, low, high):
        self.low = float_array(low, "Uniform", "low")
        self.high = float_array(high, "Uniform", "high")
        check_positive(self.high - self.low, "Uniform", "high - low")

    @property
    def event_shape(self):
        return jnp.broadcast_shapes(self.low.shape, self.high.shape)

    def sample(self, key, n):
        n = check_int(n, "Uniform.sample", "n")
        wide = _sample_dtype()
        low, high = self.low.astype(wide), self.high.astype(wide)
        u = jax.random.uniform(key, (n, *self.event_shape), wide)
        return (low + (high - low) * u).astype(self.low.dtype)

    def quadrature(self, n):
        n = check_int(n, "Uniform.quadrature", "n")
        nodes, weights = np.polynomial.legendre.leggauss(n)
        pts, w = _tensor_rule((nodes + 1) / 2, weights / 2, self.event_shape)
        dtype = self.low.dtype
        return self.low + (self.high - self.low) * jnp.asarray(pts, dtype), jnp.asarray(w, dtype)

    def quadrature_size(self, n):
        return _tensor_size(n, self.event_shape)


class Dirac(Distribution):
    r"""Point mass $\delta_{\mathrm{point}}$; its rule is exact with one point.

    ```python
    gdgan.Dirac(0.0).quadrature(1)   # (array([0.]), array([1.]))
    ```
    """

    point: Array

    def __init__(self, point):
        self.point = float_array(point, "Dirac", "point")

    @property
    def event_shape(self):
        return self.point.shape

    def sample(self, key, n):
        n = check_int(n, "Dirac.sample", "n")
        return jnp.broadcast_to(self.point, (n, *self.point.shape))

    def quadrature(self, n=1):
        return self.point[None], jnp.ones((1,), self.point.dtype)

    def quadrature_size(self, n):
        return 1


class Empirical(Distribution):
    r"""Uniform distribution over a fixed set of samples (rows of `samples`); the
    expectation is the exact sample mean.

    ```python
    gdgan.Empirical(jnp.array([-1.0, 1.0])).quadrature(0)   # both points, weights 1/2
    ```
    """

    samples: Array

    def __init__(self, samples):
        self.samples = float_array(samples, "Empirical", "samples")
        if self.samples.ndim < 1 or self.samples.shape[0] < 1:
            raise InputError(
                "Empirical: `samples` must have a leading sample axis of length >= 1, "
                f"got shape {self.samples.shape}"
            )

    @property
    def event_shape(self):
        return self.samples.shape[1:]

    def sample(self, key, n):
        n = check_int(n, "Empirical.sample", "n")
        idx = jax.random.randint(key, (n,), 0, self.samples.shape[0])
        return self.samples[idx]

    def quadrature(self, n=None):
        m = self.samples.shape[0]
        return self.samples, jnp.full((m,), 1.0 / m, self.samples.dtype)

    def quadrature_size(self, n):
        return self.samples.shape[0]


class Mixture(Distribution):
    r"""Mixture $\sum_k w_k p_k$ of distributions with a common event shape; its rule
    concatenates each component's rule, scaled by $w_k$.

    ```python
    ring = gdgan.Mixture([gdgan.Normal(jnp.array([2.0 * jnp.cos(a), 2.0 * jnp.sin(a)]), 0.02)
                          for a in jnp.linspace(0, 2 * jnp.pi, 8, endpoint=False)])
    ```
    """

    components: tuple[Distribution, ...]
    weights: Array

    def __init__(self, components: Sequence[Distribution], weights=None):
        components = tuple(components)
        if not components or not all(isinstance(c, Distribution) for c in components):
            raise InputTypeError(
                "Mixture: `components` must be a non-empty sequence of gdgan distributions, "
                f"got {components!r}"
            )
        shapes = {c.event_shape for c in components}
        if len(shapes) != 1:
            raise InputError(f"Mixture: components have different event shapes {sorted(shapes)}")
        self.components = components
        k = len(components)
        if weights is None:
            weights = jnp.full((k,), 1.0 / k)
        self.weights = float_array(weights, "Mixture", "weights")
        if self.weights.shape != (k,):
            raise InputError(f"Mixture: `weights` must have shape ({k},), got {self.weights.shape}")
        if not isinstance(self.weights, jax.core.Tracer):
            w = np.asarray(self.weights)
            if np.any(w < 0) or abs(w.sum() - 1) > 1e-6:
                raise InputError(
                    f"Mixture: `weights` must be non-negative and sum to 1, got {w.tolist()}"
                )

    @property
    def event_shape(self):
        return self.components[0].event_shape

    def sample(self, key, n):
        n = check_int(n, "Mixture.sample", "n")
        kc, *ks = jax.random.split(key, len(self.components) + 1)
        p = self.weights.astype(_sample_dtype())
        which = jax.random.choice(kc, len(self.components), (n,), p=p)
        draws = jnp.stack([c.sample(k, n) for c, k in zip(self.components, ks)])
        return draws[which, jnp.arange(n)]

    def quadrature(self, n):
        rules = [c.quadrature(n) for c in self.components]
        pts = jnp.concatenate([p for p, _ in rules])
        w = jnp.concatenate([wk * w for wk, (_, w) in zip(self.weights, rules)])
        return pts, w

    def quadrature_size(self, n):
        sizes = [c.quadrature_size(n) for c in self.components]
        return None if None in sizes else sum(sizes)


class Quadrature(eqx.Module):
    """Expectation policy: each distribution's `quadrature(n)` rule (deterministic, exact for
    Dirac / Empirical / low-degree polynomials)."""

    n: int = eqx.field(static=True)

    def __init__(self, n: int = 32):
        self.n = check_int(n, "Quadrature", "n")

    def rule(self, dist: Distribution, index: int):
        if dist.quadrature_size(self.n) is None:
            raise InputError(
                f"expectation: {type(dist).__name__} with event shape {dist.event_shape} has "
                "no quadrature rule of manageable size; use gdgan.MonteCarlo(n, key)"
            )
        return dist.quadrature(self.n)


class MonteCarlo(eqx.Module):
    """Expectation policy: `n` samples drawn once from a fixed `key`, equal weights. The
    samples are reparameterised, so the field stays a deterministic, differentiable
    function of the state and of the distributions' parameters. `key` defaults to
    `jax.random.PRNGKey(0)`: pass your own to draw other samples."""

    n: int = eqx.field(static=True)
    key: PRNGKeyArray

    def __init__(self, n: int = 1024, key=None):
        self.n = check_int(n, "MonteCarlo", "n")
        self.key = jax.random.PRNGKey(0) if key is None else key

    def rule(self, dist: Distribution, index: int):
        pts = dist.sample(jax.random.fold_in(self.key, index), self.n)
        return pts, jnp.full((self.n,), 1.0 / self.n, pts.dtype)


class Samples(eqx.Module):
    """Expectation policy with explicit points and weights for data and latent (used for
    minibatches in discrete training)."""

    data: tuple[Array, Array]
    latent: tuple[Array, Array]

    def rule(self, dist: Distribution, index: int):
        return (self.data, self.latent)[index]


def default_expectation(*dists: Distribution):
    """Quadrature when every distribution has a rule of at most 4096 points with at least
    5 nodes per coordinate, else Monte Carlo with 1024 fixed samples drawn from
    `jax.random.PRNGKey(0)`."""
    for n in (32, 16, 8, 5):
        sizes = [d.quadrature_size(n) for d in dists]
        if all(s is not None and s <= 8192 for s in sizes):
            return Quadrature(n)
    return MonteCarlo(1024, jax.random.PRNGKey(0))
