"""Small closed-form systems: the Dirac-GAN, the LQ model and its uniform variant."""

import jax.numpy as jnp

from .._checks import check_positive, float_array
from .._distributions import Dirac, Normal, Uniform
from .._game import Game
from ._registry import System


def _scalar(x):
    return jnp.asarray(x, dtype=float)


# Module-level players (not lambdas), so that equal systems share compiled code.
def _dirac_disc(p, x):
    return p["psi"] * x


def _dirac_gen(p, z):
    return p["theta"] + 0.0 * z


def _quadratic_disc(p, x):
    return p["w"] * x**2


def _linear_gen(p, z):
    return p["a"] * z


def dirac(loss="gan") -> System:
    r"""Dirac-GAN (Mescheder et al. 2018): $p_{data} = δ_0$, $G = θ$, $D(x) = ψx$.
    $V = f(0) + f(-ψθ)$; equilibrium $(ψ, θ) = (0, 0)$ with eigenvalues $±i f'(0)$;
    $ψ^2 + θ^2$ is conserved for zero-sum losses."""
    game = Game(
        discriminator=_dirac_disc,
        generator=_dirac_gen,
        data=Dirac(0.0),
        latent=Dirac(0.0),
        loss=loss,
    )
    eq = {"disc": {"psi": _scalar(0.0)}, "gen": {"theta": _scalar(0.0)}}
    init = {"disc": {"psi": _scalar(0.0)}, "gen": {"theta": _scalar(1.0)}}
    conserved = (
        (lambda y: y["disc"]["psi"] ** 2 + y["gen"]["theta"] ** 2) if game.zero_sum else None
    )
    return System(
        "dirac",
        game,
        eq,
        init,
        {"loss": loss},
        "Dirac-GAN: D = psi*x, G = theta, data delta_0",
        conserved,
    )


def _lq_like(name, data, latent, target, loss, params, description):
    game = Game(
        discriminator=_quadratic_disc,
        generator=_linear_gen,
        data=data,
        latent=latent,
        loss=loss,
    )
    # D ≡ 0 with p_G = p_data is an equilibrium for zero-sum losses, nsgan and hinge; the
    # least-squares loss has no closed-form equilibrium here.
    eq = None if game.loss.name == "lsgan" else {"disc": {"w": _scalar(0.0)}, "gen": {"a": target}}
    init = {"disc": {"w": _scalar(0.0)}, "gen": {"a": 1.5 * target}}
    conserved = None
    if game.loss.name == "wgan":
        # w' = m(s² - a²), a' = 2 m w a  =>  H = w² + a²/2 - s² ln|a| is a first integral.
        conserved = lambda y: (  # noqa: E731
            y["disc"]["w"] ** 2
            + y["gen"]["a"] ** 2 / 2
            - target**2 * jnp.log(jnp.abs(y["gen"]["a"]))
        )
    return System(name, game, eq, init, params, description, conserved)


def lq(sigma=1.0, loss="gan") -> System:
    r"""The paper's LQ system: $x \sim \mathcal N(0, σ^2)$, $z \sim \mathcal N(0, 1)$,
    $G(z) = az$, $D(x) = wx^2$. WGAN: $\dot w = σ^2 - a^2$, $\dot a = 2wa$, equilibrium
    $(0, σ)$ with eigenvalues $±2σi$; $H = w^2 + a^2/2 - σ^2\ln|a|$ is conserved."""
    sigma = check_positive(float_array(sigma, "lq", "sigma"), "lq", "sigma")
    return _lq_like(
        "lq",
        Normal(0.0, sigma),
        Normal(0.0, 1.0),
        sigma,
        loss,
        {"sigma": sigma, "loss": loss},
        "linear generator a*z, quadratic discriminator w*x^2, data N(0, sigma^2)",
    )


def uniform(scale=1.0, loss="gan") -> System:
    r"""The LQ model with uniform data $U(-s, s)$ and latent $U(-1, 1)$ ("learning a uniform
    distribution"): equilibrium $(w, a) = (0, s)$; for the WGAN $\dot w = (s^2 - a^2)/3$,
    $\dot a = 2wa/3$, eigenvalues $±\tfrac{2s}{3}i$, the same first integral as `lq`."""
    scale = check_positive(float_array(scale, "uniform", "scale"), "uniform", "scale")
    return _lq_like(
        "uniform",
        Uniform(-scale, scale),
        Uniform(-1.0, 1.0),
        scale,
        loss,
        {"scale": scale, "loss": loss},
        "linear generator a*z, quadratic discriminator w*x^2, data U(-scale, scale)",
    )
