r"""Two-player games: the GAN game of Nagarajan & Kolter (2017) and games given by a value.

A state is `y = {"disc": θ_D, "gen": θ_G}` with arbitrary pytrees of arrays. A game exposes
`losses(y) -> (L_D, L_G)`, each player descending its own loss; `value(y)` is
$V(θ_D, θ_G) = \mathbb E_{data} f(D(x)) + \mathbb E_{latent} f(-D(G(z)))$ for zero-sum losses
(and $-L_D$, the discriminator's objective, otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import InputError, InputTypeError
from ._distributions import Distribution, MonteCarlo, Quadrature, Samples, default_expectation
from ._losses import Loss, resolve_loss

STATE_KEYS = ("disc", "gen")


def check_state(y, owner: str = "y"):
    """Raise a one-line `ValueError` unless `y` is a `{"disc": ..., "gen": ...}` dict."""
    if not isinstance(y, dict) or set(y) != set(STATE_KEYS):
        got = sorted(y) if isinstance(y, dict) else type(y).__name__
        raise InputError(f"{owner}: expected a dict {{'disc': ..., 'gen': ...}}, got {got}")
    return y


class Game(eqx.Module):
    r"""A GAN as a two-player game (Nagarajan & Kolter 2017, §2).

    **Arguments:**

    - `discriminator`: `D(θ_D, x) -> scalar logit` for one sample `x`. `None` means call the
      parameters: `D(θ_D, x) = θ_D(x)` (e.g. an `equinox.nn.MLP` as θ_D).
    - `generator`: `G(θ_G, z) -> one sample` with the data's event shape (`None`: `θ_G(z)`).
    - `data`, `latent`: gdgan distributions.
    - `loss`: `"gan"` ($f = \log\sigma$), `"wgan"` ($f = t$), a concave callable $f$, or a
      general-sum name `"nsgan"`, `"lsgan"`, `"hinge"`.
    - `expectation`: `None` (quadrature when every distribution has a rule of manageable
      size, else 1024 fixed Monte Carlo samples), `gdgan.Quadrature(n)` or
      `gdgan.MonteCarlo(n, key)`.

    ```python
    game = gdgan.Game(lambda p, x: p["w"] * x**2, lambda p, z: p["a"] * z,
                      gdgan.Normal(0.0, 1.0), gdgan.Normal(0.0, 1.0), loss="wgan")
    game.value({"disc": {"w": 1.0}, "gen": {"a": 2.0}})   # w (σ² - a²) = -3
    ```
    """

    discriminator: Callable | None
    generator: Callable | None
    data: Distribution
    latent: Distribution
    loss: Loss
    expectation: Quadrature | MonteCarlo | Samples

    def __init__(self, discriminator, generator, data, latent, loss="gan", expectation=None):
        for name, fn in (("discriminator", discriminator), ("generator", generator)):
            if fn is not None and not callable(fn):
                raise InputTypeError(
                    f"Game: `{name}` must be callable (params, sample), got {fn!r}"
                )
        for name, dist in (("data", data), ("latent", latent)):
            if not isinstance(dist, Distribution):
                raise InputTypeError(
                    f"Game: `{name}` must be a gdgan distribution (Normal, Uniform, Dirac, "
                    f"Mixture, Empirical), got {dist!r}"
                )
        if expectation is None:
            expectation = default_expectation(data, latent)
        if not isinstance(expectation, (Quadrature, MonteCarlo, Samples)):
            raise InputTypeError(
                "Game: `expectation` must be None, gdgan.Quadrature(n) or "
                f"gdgan.MonteCarlo(n, key), got {expectation!r}"
            )
        self.discriminator = discriminator
        self.generator = generator
        self.data = data
        self.latent = latent
        self.loss = resolve_loss(loss)
        self.expectation = expectation

    # -- building blocks -------------------------------------------------------------
    def D(self, theta_d, x):
        out = theta_d(x) if self.discriminator is None else self.discriminator(theta_d, x)
        out = jnp.asarray(out)
        if out.size != 1:
            raise InputError(
                f"discriminator: must return one scalar logit per sample, got shape {out.shape}"
            )
        return out.reshape(())

    def G(self, theta_g, z):
        out = theta_g(z) if self.generator is None else self.generator(theta_g, z)
        out = jnp.asarray(out)
        if out.shape != tuple(self.data.event_shape):
            raise InputError(
                f"generator: output shape {out.shape} does not match the data's event shape "
                f"{tuple(self.data.event_shape)} (check the shapes of y['gen'])"
            )
        return out

    def rules(self):
        """`((x, wx), (z, wz))`: the points and weights of both expectations."""
        return self.expectation.rule(self.data, 0), self.expectation.rule(self.latent, 1)

    def with_samples(self, x, z) -> Game:
        """The same game with expectations replaced by equal-weight samples (minibatches)."""
        wx = jnp.full((x.shape[0],), 1.0 / x.shape[0], x.dtype)
        wz = jnp.full((z.shape[0],), 1.0 / z.shape[0], x.dtype)
        return eqx.tree_at(lambda g: g.expectation, self, Samples((x, wx), (z, wz)))

    def logits(self, y):
        """`(D(x), wx, D(G(z)), wz)` on the expectation's points."""
        check_state(y)
        (x, wx), (z, wz) = self.rules()
        d_real = jax.vmap(lambda s: self.D(y["disc"], s))(x)
        fake = jax.vmap(lambda s: self.G(y["gen"], s))(z)
        d_fake = jax.vmap(lambda s: self.D(y["disc"], s))(fake)
        return d_real, wx, d_fake, wz

    # -- the game ----------------------------------------------------------------------
    def losses(self, y):
        """`(L_D, L_G)`: each player's loss, to be descended."""
        d_real, wx, d_fake, wz = self.logits(y)
        loss = self.loss
        l_d = wx @ loss.d_real(d_real) + wz @ loss.d_fake(d_fake)
        l_g = wx @ loss.g_real(d_real) + wz @ loss.g_fake(d_fake)
        return l_d, l_g

    def value(self, y):
        """$V(θ_D, θ_G)$ (zero-sum) or the discriminator's objective $-L_D$."""
        return -self.losses(y)[0]

    @property
    def zero_sum(self) -> bool:
        return self.loss.zero_sum


class ValueGame(eqx.Module):
    r"""A zero-sum game given directly by its value $V(y)$: the discriminator ascends and the
    generator descends $V$. Used for models whose objective is written in closed form (e.g.
    Li et al. 2018's interval discriminator, `gdgan.systems.two_gaussians`). Regularizers that
    need `D(x)` (R1, R2, WGAN-GP) are not available for it.

    ```python
    game = gdgan.ValueGame(lambda y: -y["disc"] * y["gen"])   # the bilinear game
    ```
    """

    value_fn: Callable

    def losses(self, y):
        check_state(y)
        v = self.value_fn(y)
        return -v, v

    def value(self, y):
        return self.value_fn(check_state(y))

    @property
    def zero_sum(self) -> bool:
        return True
