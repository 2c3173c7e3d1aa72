"""The authors' mode-collapse preset: a ring of Gaussians learned by ReLU MLPs."""

import math

import jax
import jax.numpy as jnp

from .._checks import InputError
from .._distributions import Mixture, MonteCarlo, Normal
from .._game import Game
from ._registry import System


def _mlp(params, x):
    for i, layer in enumerate(params):
        x = layer["W"] @ x + layer["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def _init_mlp(key, sizes, gain):
    init = jax.nn.initializers.orthogonal(scale=gain)
    layers = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        layers.append({"W": init(k, (n, m), float), "b": jnp.zeros((n,), float)})
    return layers


def _ring_disc(p, x):
    return _mlp(p, x / 4.0)[0]


def ring(
    width=128,
    latent_dim=256,
    n_samples=512,
    seed=0,
    loss="gan",
    modes=8,
    radius=2.0,
    std=0.02,
    gain=0.8,
) -> System:
    r"""The authors' mode-collapse preset (docs, Theory §7): `modes` Gaussians of std `std` on a
    circle of `radius`; latent $\mathcal N(0, I_{latent\_dim})$; $G$: latent → width → width
    → 2 ReLU MLP; $D$: $x/4$ → width ReLU → 1 logit; orthogonal init (gain 0.8); fixed Monte
    Carlo expectation with `n_samples` samples. No closed-form equilibrium (`equilibrium` is
    `None`); `init` is the orthogonal initialisation."""
    for name, val in (
        ("width", width),
        ("latent_dim", latent_dim),
        ("n_samples", n_samples),
        ("modes", modes),
    ):
        if int(val) != val or val < 1:
            raise InputError(f"ring: `{name}` must be a positive integer, got {val!r}")
    width, latent_dim, n_samples, modes = int(width), int(latent_dim), int(n_samples), int(modes)
    angles = [2 * math.pi * k / modes for k in range(modes)]
    data = Mixture(
        [Normal(jnp.array([radius * math.cos(a), radius * math.sin(a)]), std) for a in angles]
    )
    latent = Normal(jnp.zeros((latent_dim,)), 1.0)
    game = Game(
        discriminator=_ring_disc,
        generator=_mlp,
        data=data,
        latent=latent,
        loss=loss,
        expectation=MonteCarlo(n_samples, jax.random.PRNGKey(seed)),
    )
    kd, kg = jax.random.split(jax.random.PRNGKey(seed + 1))
    init = {
        "disc": _init_mlp(kd, [2, width, 1], gain),
        "gen": _init_mlp(kg, [latent_dim, width, width, 2], gain),
    }
    params = dict(
        width=width,
        latent_dim=latent_dim,
        n_samples=n_samples,
        seed=seed,
        loss=loss,
        modes=modes,
        radius=radius,
        std=std,
        gain=gain,
    )
    return System(
        "ring",
        game,
        None,
        init,
        params,
        f"{modes}-Gaussian ring with ReLU MLPs (authors' mode-collapse preset)",
    )
