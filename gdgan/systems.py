r"""Ready-made games with their known equilibria (theory.md §7, li_madry.md §1).

Each builder takes keyword parameters and returns a `System`: the `game`, a known
`equilibrium` (or `None`), a default initial state `init`, and, where one exists, the
`conserved` quantity of the unregularised flow. The registry is for the edges (CLI, tests,
reproductions); the library itself takes games and fields.

```python
sys = gdgan.systems.get("lq", sigma=2.0, loss="wgan")
rep = gdgan.stability(sys.field(gdgan.GradientPenalty(0.1)), sys.equilibrium)
```
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.stats as jstats

from ._checks import check_positive, float_array
from ._distributions import Dirac, Mixture, MonteCarlo, Normal, Uniform
from ._field import vector_field
from ._game import Game, ValueGame


@dataclasses.dataclass(frozen=True)
class System:
    """A named game: `game`, `equilibrium` (state or `None`), `init` (a default initial
    state), `conserved(y)` (a first integral of the unregularised flow, or `None`),
    `params` (the builder's arguments) and a one-line `description`."""

    name: str
    game: Game | ValueGame
    equilibrium: dict | None
    init: dict
    params: dict
    description: str
    conserved: Callable | None = None

    def field(self, *regularizers):
        """`gdgan.vector_field(self.game, *regularizers)`."""
        return vector_field(self.game, *regularizers)

    @property
    def n(self) -> int:
        return sum(x.size for x in jax.tree_util.tree_leaves(self.init))


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


def _ring_disc(p, x):
    return _mlp(p, x / 4.0)[0]


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
    conserved = (lambda y: y["disc"]["psi"] ** 2 + y["gen"]["theta"] ** 2) if game.zero_sum else None
    return System("dirac", game, eq, init, {"loss": loss}, "Dirac-GAN: D = psi*x, G = theta, data delta_0", conserved)


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
            y["disc"]["w"] ** 2 + y["gen"]["a"] ** 2 / 2 - target**2 * jnp.log(jnp.abs(y["gen"]["a"]))
        )
    return System(name, game, eq, init, params, description, conserved)


def lq(sigma=1.0, loss="gan") -> System:
    r"""The paper's LQ system: $x \sim \mathcal N(0, σ^2)$, $z \sim \mathcal N(0, 1)$,
    $G(z) = az$, $D(x) = wx^2$. WGAN: $\dot w = σ^2 - a^2$, $\dot a = 2wa$, equilibrium
    $(0, σ)$ with eigenvalues $±2σi$; $H = w^2 + a^2/2 - σ^2\ln|a|$ is conserved."""
    sigma = check_positive(float_array(sigma, "lq", "sigma"), "lq", "sigma")
    return _lq_like(
        "lq", Normal(0.0, sigma), Normal(0.0, 1.0), sigma, loss,
        {"sigma": sigma, "loss": loss},
        "linear generator a*z, quadratic discriminator w*x^2, data N(0, sigma^2)",
    )


def uniform(scale=1.0, loss="gan") -> System:
    r"""The LQ model with uniform data $U(-s, s)$ and latent $U(-1, 1)$ ("learning a uniform
    distribution"): equilibrium $(w, a) = (0, s)$; for the WGAN $\dot w = (s^2 - a^2)/3$,
    $\dot a = 2wa/3$, eigenvalues $±\tfrac{2s}{3}i$, the same first integral as `lq`."""
    scale = check_positive(float_array(scale, "uniform", "scale"), "uniform", "scale")
    return _lq_like(
        "uniform", Uniform(-scale, scale), Uniform(-1.0, 1.0), scale, loss,
        {"scale": scale, "loss": loss},
        "linear generator a*z, quadratic discriminator w*x^2, data U(-scale, scale)",
    )


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


def ring(
    width=128, latent_dim=256, n_samples=512, seed=0, loss="gan", modes=8, radius=2.0, std=0.02,
    gain=0.8,
) -> System:
    r"""The authors' mode-collapse preset (theory.md §7): `modes` Gaussians of std `std` on a
    circle of `radius`; latent $\mathcal N(0, I_{latent\_dim})$; $G$: latent → width → width
    → 2 ReLU MLP; $D$: $x/4$ → width ReLU → 1 logit; orthogonal init (gain 0.8); fixed Monte
    Carlo expectation with `n_samples` samples. No closed-form equilibrium (`equilibrium` is
    `None`); `init` is the orthogonal initialisation."""
    for name, val in (("width", width), ("latent_dim", latent_dim), ("n_samples", n_samples), ("modes", modes)):
        if int(val) != val or val < 1:
            raise ValueError(f"ring: `{name}` must be a positive integer, got {val!r}")
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
    params = dict(width=width, latent_dim=latent_dim, n_samples=n_samples, seed=seed, loss=loss,
                  modes=modes, radius=radius, std=std, gain=gain)
    return System("ring", game, None, init, params,
                  f"{modes}-Gaussian ring with ReLU MLPs (authors' mode-collapse preset)")


def two_gaussians(mu1_star=-0.5, mu2_star=0.5) -> System:
    r"""Li, Madry, Peebles & Schmidt (2018): data $\tfrac12\mathcal N(μ^*_1, 1) +
    \tfrac12\mathcal N(μ^*_2, 1)$, generator $\tfrac12\mathcal N(μ_1, 1) + \tfrac12\mathcal
    N(μ_2, 1)$, discriminator the indicator of $[l_1, r_1] \cup [l_2, r_2]$, objective

    $$L = 1 + \tfrac12\sum_{i,j}[Φ(r_i - μ^*_j) - Φ(l_i - μ^*_j)]
              - \tfrac12\sum_{i,j}[Φ(r_i - μ_j) - Φ(l_i - μ_j)],$$

    minimised over μ, maximised over (l, r). State: `disc = {"l": (2,), "r": (2,)}`,
    `gen = {"mu": (2,)}`. Equilibria: μ = μ* with any empty intervals (l = r); the one given
    has l = r = μ*; its spectrum is on the imaginary axis."""
    mu_star = jnp.stack([float_array(mu1_star, "two_gaussians", "mu1_star"),
                         float_array(mu2_star, "two_gaussians", "mu2_star")])

    eq = {"disc": {"l": mu_star, "r": mu_star}, "gen": {"mu": mu_star}}
    init = {"disc": {"l": jnp.array([-1.5, 0.2]), "r": jnp.array([-0.2, 1.5])},
            "gen": {"mu": jnp.array([-1.0, 0.3])}}
    return System("two_gaussians", ValueGame(TwoGaussiansValue(mu_star)), eq, init,
                  {"mu1_star": mu1_star, "mu2_star": mu2_star},
                  "Li et al.: two unit Gaussians, learnable means, two-interval discriminator")


class TwoGaussiansValue(eqx.Module):
    """Li et al.'s objective L(μ, l, r) with the true means `mu_star` as an array leaf."""

    mu_star: jax.Array

    def mass(self, y, means):
        l, r = y["disc"]["l"], y["disc"]["r"]
        cdf = jstats.norm.cdf
        return 0.5 * jnp.sum(cdf(r[:, None] - means[None, :]) - cdf(l[:, None] - means[None, :]))

    def __call__(self, y):
        return 1.0 + self.mass(y, self.mu_star) - self.mass(y, y["gen"]["mu"])


REGISTRY: dict[str, Callable[..., System]] = {
    "dirac": dirac,
    "lq": lq,
    "uniform": uniform,
    "ring": ring,
    "two_gaussians": two_gaussians,
}


def names() -> list[str]:
    return list(REGISTRY)


def parameters(name: str) -> dict:
    """The builder's keyword parameters and their defaults."""
    builder = _builder(name)
    return {k: p.default for k, p in inspect.signature(builder).parameters.items()}


def _builder(name):
    if name not in REGISTRY:
        raise ValueError(f"system: expected one of {names()}, got {name!r}")
    return REGISTRY[name]


def get(name: str, **params) -> System:
    """Build the named system; unknown parameters raise a one-line `ValueError`."""
    allowed = parameters(name)
    for key in params:
        if key not in allowed:
            raise ValueError(
                f"param: system {name!r} has parameters {sorted(allowed)}, got {key!r}"
            )
    return _builder(name)(**params)
