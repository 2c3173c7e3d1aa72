"""Li, Madry, Peebles & Schmidt (2018): two unit Gaussians and a two-interval discriminator."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.stats as jstats

from .._checks import float_array
from .._game import ValueGame
from ._registry import System


def two_gaussians(mu1_star=-0.5, mu2_star=0.5) -> System:
    r"""Li, Madry, Peebles & Schmidt (2018): data $\tfrac12\mathcal N(μ^*_1, 1) +
    \tfrac12\mathcal N(μ^*_2, 1)$, generator $\tfrac12\mathcal N(μ_1, 1) + \tfrac12\mathcal
    N(μ_2, 1)$, discriminator the indicator of $[l_1, r_1] \cup [l_2, r_2]$, objective

    $$L = 1 + \tfrac12\sum_{i,j}[Φ(r_i - μ^*_j) - Φ(l_i - μ^*_j)]
              - \tfrac12\sum_{i,j}[Φ(r_i - μ_j) - Φ(l_i - μ_j)],$$

    minimised over μ, maximised over (l, r). State: `disc = {"l": (2,), "r": (2,)}`,
    `gen = {"mu": (2,)}`. Equilibria: μ = μ* with any empty intervals (l = r); the one given
    has l = r = μ*; its spectrum is on the imaginary axis."""
    mu_star = jnp.stack(
        [
            float_array(mu1_star, "two_gaussians", "mu1_star"),
            float_array(mu2_star, "two_gaussians", "mu2_star"),
        ]
    )

    eq = {"disc": {"l": mu_star, "r": mu_star}, "gen": {"mu": mu_star}}
    init = {
        "disc": {"l": jnp.array([-1.5, 0.2]), "r": jnp.array([-0.2, 1.5])},
        "gen": {"mu": jnp.array([-1.0, 0.3])},
    }
    return System(
        "two_gaussians",
        ValueGame(TwoGaussiansValue(mu_star)),
        eq,
        init,
        {"mu1_star": mu1_star, "mu2_star": mu2_star},
        "Li et al.: two unit Gaussians, learnable means, two-interval discriminator",
    )


class TwoGaussiansValue(eqx.Module):
    """Li et al.'s objective L(μ, l, r) with the true means `mu_star` as an array leaf."""

    mu_star: jax.Array

    def mass(self, y, means):
        l, r = y["disc"]["l"], y["disc"]["r"]
        cdf = jstats.norm.cdf
        return 0.5 * jnp.sum(cdf(r[:, None] - means[None, :]) - cdf(l[:, None] - means[None, :]))

    def __call__(self, y):
        return 1.0 + self.mass(y, self.mu_star) - self.mass(y, y["gen"]["mu"])
