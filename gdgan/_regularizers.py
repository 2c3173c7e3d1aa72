r"""Stabilisers of GAN dynamics, as transformations of the players' losses or of the field.

A regularizer acts at one of two stages (`vector_field` applies every loss-stage regularizer
first, in the order given, then every field-stage one):

- **loss stage** — `losses(game, fn) -> fn'` where `fn(y) = (L_D, L_G)`:
  `GradientPenalty`, `R1`, `R2`, `WGANGP`, `Unrolled`;
- **field stage** — `field(h) -> h'` where `h(y)` is the field: `Consensus`, `TimeScale`, `SGA`.

Hyperparameters are array leaves, so `jax.vmap` over them is a sweep. Sign conventions:
$h = (-\nabla_{θ_D} L_D, -\nabla_{θ_G} L_G)$; for zero-sum games $L_D = -V$, $L_G = V$.
On the Dirac-GAN, $D(x) = ψx$ with ψ the discriminator's parameter and $V = f(ψ\cdot 0) +
f(-ψθ)$ (Mescheder et al. 2018 write $f(ψθ)$ for the fake term with the opposite sign of ψ;
their fields map onto gdgan's under ψ → −ψ). Weight clipping (the original WGAN's) is a
projection after each discrete step, not a regulariser: `gdgan.train(..., clip=c)`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from ._checks import InputError, InputTypeError, check_nonnegative, float_array
from ._distributions import Samples
from ._game import Game


def sq_norm(tree):
    """$\\|tree\\|^2$ over every array leaf."""
    return sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree_util.tree_leaves(tree))


def _param(value, owner, name):
    return check_nonnegative(float_array(value, owner, name), owner, name)


def _grad_x_sqnorm(game, theta_d, x):
    g = jax.grad(lambda s: game.D(theta_d, s))(x)
    return jnp.sum(g**2)


def _need_game(reg, game):
    if not isinstance(game, Game):
        raise InputTypeError(
            f"{type(reg).__name__}: needs a gdgan.Game with a discriminator and data "
            f"distribution, got {type(game).__name__}"
        )


class Regularizer(eqx.Module):
    """Base class: identity at both stages."""

    def losses(self, game, fn):
        return fn

    def field(self, h):
        return h


class GradientPenalty(Regularizer):
    r"""Nagarajan & Kolter (2017), §4: the generator descends
    $V + η\|\nabla_{θ_D} V\|^2$ (norm over **all** discriminator parameters, no ½;
    η = 0.5 in the authors' experiments):

    $$\dot θ_G = -\nabla_{θ_G} V - η \nabla_{θ_G}\|\nabla_{θ_D} V\|^2 .$$

    For general-sum losses $\nabla_{θ_D} V$ is read as $\nabla_{θ_D} L_D$. At a realisable
    equilibrium $J_η = [[I, 0], [-2η K_{DG}^T, I]]\,J_0$.

    On a minibatch of $b$ samples (`gdgan.train(..., batch=b)`) the plug-in penalty is
    biased: $\mathbb E\|\nabla_{θ_D} V_B\|^2 = \|\nabla_{θ_D} V\|^2 + \mathrm{tr}\,Σ_D/b$,
    with $Σ_D$ the per-sample covariance of $\nabla_{θ_D} V$; the generator then also
    descends $η\,\mathrm{tr}\,Σ_D/b$, which can pull it towards collapse at small $b$
    (see `gdgan reproduce stochastic`). `unbiased=True` subtracts the U-statistic
    correction $\sum_i\|g_i - \bar g\|^2 / (b(b-1))$ separately over the data and latent
    samples ($g_i$ the per-sample gradients; weighted samples are handled too), which makes the penalty and its gradient
    unbiased for the expectation's; it applies only to minibatch games (explicit
    `Samples`), where it costs per-sample gradients of the discriminator. The authors'
    code uses the plug-in penalty (the default).

    ```python
    field = gdgan.vector_field(game, gdgan.GradientPenalty(eta=0.5))
    ```
    """

    eta: jax.Array
    unbiased: bool = eqx.field(static=True)

    def __init__(self, eta=0.5, unbiased=False):
        self.eta = _param(eta, "GradientPenalty", "eta")
        if not isinstance(unbiased, bool):
            raise InputTypeError(
                f"GradientPenalty: `unbiased` must be True or False, got {unbiased!r}"
            )
        self.unbiased = unbiased

    def losses(self, game, fn):
        correct = self.unbiased and isinstance(game, Game) and isinstance(game.expectation, Samples)

        def new(y):
            l_d, l_g = fn(y)
            grad_d = jax.grad(lambda d: fn({"disc": d, "gen": y["gen"]})[0])(y["disc"])
            penalty = sq_norm(grad_d)
            if correct:
                penalty = penalty - _minibatch_bias(game, y)
            return l_d, l_g + self.eta * penalty

        return new


def _minibatch_bias(game, y):
    r"""An unbiased estimate of $\mathrm{tr}\,\mathrm{Cov}(\nabla_{θ_D} L_{D,B})$, the plug-in
    penalty's bias, for a minibatch whose data and latent points are iid with fixed weights
    $w_i$ (summing to 1; zero weights drop out): per sample set,
    $\sum_i w_i^2 \cdot \sum_i w_i\|g_i - \bar g_w\|^2 / (1 - \sum_i w_i^2)$ with $g_i$ the
    gradient of the discriminator's loss on sample $i$ alone — for $b$ equal weights,
    $\sum_i\|g_i - \bar g\|^2 / (b(b-1))$."""
    (x, wx), (z, wz) = game.rules()

    def grad_one(xs, wxs, zs, wzs):
        g = eqx.tree_at(
            lambda g_: g_.expectation, game, Samples((xs[None], wxs[None]), (zs[None], wzs[None]))
        )
        grad = jax.grad(lambda d: g.losses({"disc": d, "gen": y["gen"]})[0])(y["disc"])
        return jax.flatten_util.ravel_pytree(grad)[0]

    one, zero = jnp.ones((), wx.dtype), jnp.zeros((), wx.dtype)
    gx = jax.vmap(lambda xi: grad_one(xi, one, z[0], zero))(x)
    gz = jax.vmap(lambda zi: grad_one(x[0], zero, zi, one))(z)

    def correction(g, w):
        w = w / jnp.sum(w)
        s2 = jnp.sum(w**2)
        spread = jnp.sum(w * jnp.sum(jnp.square(g - w @ g), axis=1))
        return jnp.where(s2 < 1, s2 * spread / jnp.where(s2 < 1, 1 - s2, 1.0), 0.0)

    return correction(gx, wx) + correction(gz, wz)


class R1(Regularizer):
    r"""Mescheder, Geiger & Nowozin (2018): the discriminator's loss gains
    $\frac{γ}{2}\mathbb E_{p_{data}}\|\nabla_x D(x)\|^2$.

    Conventions: γ/2 as in the paper's Dirac-GAN analysis and its code's `reg_param`
    (some image-training code writes γ without the ½: pass `gamma = 2γ'` to match it);
    $D$ is the logit, and the penalty is added to the discriminator's loss $L_D = -V$.
    On the Dirac-GAN ($D(x) = ψx$, data δ₀) it is $\frac{γ}{2}ψ^2$, so
    $\dot ψ = -f'(0)θ - γψ$ near the equilibrium."""

    gamma: jax.Array

    def __init__(self, gamma=1.0):
        self.gamma = _param(gamma, "R1", "gamma")

    def _points(self, game, y):
        return game.rules()[0]

    def losses(self, game, fn):
        _need_game(self, game)

        def new(y):
            l_d, l_g = fn(y)
            x, w = self._points(game, y)
            pen = w @ jax.vmap(lambda s: _grad_x_sqnorm(game, y["disc"], s))(x)
            return l_d + 0.5 * self.gamma * pen, l_g

        return new


class R2(R1):
    r"""Mescheder, Geiger & Nowozin (2018): as `R1` on generated samples,
    $\frac{γ}{2}\mathbb E_{z}\|\nabla_x D(G(z))\|^2$."""

    def __init__(self, gamma=1.0):
        self.gamma = _param(gamma, "R2", "gamma")

    def _points(self, game, y):
        z, w = game.rules()[1]
        return jax.vmap(lambda s: game.G(y["gen"], s))(z), w


class WGANGP(Regularizer):
    r"""Gulrajani et al. (2017): the critic's loss gains
    $λ\,\mathbb E_{\hat x}(\|\nabla_x D(\hat x)\| - \mathrm{target})^2$ with
    $\hat x = εx + (1-ε)G(z)$, ε ~ U(0, 1) (`target = 1` in the paper; Mescheder et al.'s
    (2018) code also offers other targets, e.g. 0).

    Conventions: λ multiplies the penalty as written (no ½; Gulrajani et al. use λ = 10);
    the penalty is added to the critic's *loss* $L_D = -V$, i.e. subtracted from the value
    the critic ascends. With `target > 0` the penalty is not differentiable where
    $\nabla_x D(\hat x) = 0$ (e.g. at the Dirac-GAN's equilibrium ψ = 0), so its Jacobian
    there is undefined.

    The expectation is deterministic: over every (data point, generated point) pair of the
    game's rules and `n_eps` Gauss–Legendre nodes in ε when that has at most 65 536 terms,
    else over pairs zipped in order with ε drawn from the fixed key `jax.random.PRNGKey(0)`
    (the same ε at every call, so the field stays deterministic). The norm uses a zero gradient
    at $\nabla_x D = 0$.
    """

    lam: jax.Array
    target: jax.Array
    n_eps: int = eqx.field(static=True)

    def __init__(self, lam=10.0, n_eps=8, target=1.0):
        self.lam = _param(lam, "WGANGP", "lam")
        self.target = _param(target, "WGANGP", "target")
        self.n_eps = int(n_eps)

    def losses(self, game, fn):
        _need_game(self, game)

        def new(y):
            l_d, l_g = fn(y)
            (x, wx), (z, wz) = game.rules()
            fake = jax.vmap(lambda s: game.G(y["gen"], s))(z)
            nx, nz = x.shape[0], fake.shape[0]
            if nx * nz * self.n_eps <= 65_536:
                e, we = np.polynomial.legendre.leggauss(self.n_eps)
                e, we = jnp.asarray((e + 1) / 2, x.dtype), jnp.asarray(we / 2, x.dtype)
                xi = jnp.repeat(x, nz * self.n_eps, axis=0)
                fi = jnp.tile(jnp.repeat(fake, self.n_eps, axis=0), (nx,) + (1,) * (x.ndim - 1))
                ei = jnp.tile(e, nx * nz)
                w = (wx[:, None, None] * wz[None, :, None] * we[None, None, :]).reshape(-1)
            else:
                m = min(nx, nz)
                xi, fi, w = x[:m], fake[:m], 0.5 * (wx[:m] + wz[:m])
                w = w / w.sum()
                ei = jax.random.uniform(jax.random.PRNGKey(0), (m,), x.dtype)
            ei = ei.reshape((-1,) + (1,) * (x.ndim - 1))
            xhat = ei * xi + (1 - ei) * fi

            def term(s):
                sq = _grad_x_sqnorm(game, y["disc"], s)
                safe = jnp.where(sq > 0, sq, 1.0)
                norm = jnp.where(sq > 0, jnp.sqrt(safe), 0.0)
                return (norm - self.target) ** 2

            return l_d + self.lam * (w @ jax.vmap(term)(xhat)), l_g

        return new


class Unrolled(Regularizer):
    r"""Metz et al. (2017): the generator's loss is evaluated at the discriminator after
    `steps` optimisation steps on its own loss, differentiated through the unroll:
    $L_G(θ_D^{(k)}(θ), θ_G)$.

    With `adam_b1=None` the steps are SGD, $θ_D^{(j+1)} = θ_D^{(j)} - \mathrm{lr}\,
    \nabla_{θ_D} L_D$. With `adam_b1=β₁` they are Adam steps (β₂ = 0.999, ε = 1e-8, bias
    corrected) started from a fresh state $m = v = 0$: the closest a loss transform can
    come to Metz et al.'s and Nagarajan & Kolter's unrolled GAN code, which unrolls the
    discriminator's Adam optimizer from its *running* moments (not visible to a function
    of the parameters alone). Adam's first fresh step is $\mathrm{lr}\cdot g/(|g| + ε)$,
    so `lr` is a per-coordinate step length there, not a multiplier of the gradient."""

    steps: int = eqx.field(static=True)
    lr: jax.Array
    adam_b1: float | None = eqx.field(static=True)

    def __init__(self, steps=5, lr=0.1, adam_b1=None):
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise InputError(f"Unrolled: `steps` must be a non-negative integer, got {steps!r}")
        self.steps = int(steps)
        self.lr = _param(lr, "Unrolled", "lr")
        if adam_b1 is not None and not (
            isinstance(adam_b1, (int, float)) and not isinstance(adam_b1, bool) and 0 <= adam_b1 < 1
        ):
            raise InputError(f"Unrolled: `adam_b1` must be None or in [0, 1), got {adam_b1!r}")
        self.adam_b1 = None if adam_b1 is None else float(adam_b1)

    def losses(self, game, fn):
        b1 = 0.0 if self.adam_b1 is None else self.adam_b1
        b2, eps, adam = 0.999, 1e-8, self.adam_b1 is not None
        tmap = jax.tree_util.tree_map

        def new(y):
            l_d, _ = fn(y)

            def step(carry, j):  # a scan: one compiled step, whatever `steps`
                d, m, v = carry
                g = jax.grad(lambda dd: fn({"disc": dd, "gen": y["gen"]})[0])(d)
                if not adam:
                    return (tmap(lambda p, gp: p - self.lr * gp, d, g), m, v), None
                m = tmap(lambda a, gp: b1 * a + (1 - b1) * gp, m, g)
                v = tmap(lambda a, gp: b2 * a + (1 - b2) * gp * gp, v, g)
                c1, c2 = 1 - b1**j, 1 - b2**j
                # + 1e-30 inside the root: a finite derivative where a gradient is 0
                d = tmap(
                    lambda p, a, b: p - self.lr * (a / c1) / (jnp.sqrt(b / c2 + 1e-30) + eps),
                    d,
                    m,
                    v,
                )
                return (d, m, v), None

            d = y["disc"]
            zeros = tmap(jnp.zeros_like, d)
            if self.steps:
                js = jnp.arange(1, self.steps + 1, dtype=jax.tree_util.tree_leaves(d)[0].dtype)
                (d, _, _), _ = jax.lax.scan(step, (d, zeros, zeros), js)
            return l_d, fn({"disc": d, "gen": y["gen"]})[1]

        return new


class Consensus(Regularizer):
    r"""Mescheder, Nowozin & Geiger (2017), "The Numerics of GANs": both players add
    $\frac{γ}{2}\|h(θ)\|^2$ to their losses, so $h' = h - γ J^T h$; at an equilibrium the
    Jacobian becomes $J - γ J^T J$."""

    gamma: jax.Array

    def __init__(self, gamma=1.0):
        self.gamma = _param(gamma, "Consensus", "gamma")

    def field(self, h):
        def new(y):
            hv, vjp = jax.vjp(h, y)
            (jt_h,) = vjp(hv)
            return jax.tree_util.tree_map(lambda a, b: a - self.gamma * b, hv, jt_h)

        return new


class TimeScale(Regularizer):
    r"""Two time scales (Heusel et al. 2017, TTUR-like): $\dot θ_D$ is multiplied by $c$."""

    c: jax.Array

    def __init__(self, c=1.0):
        self.c = check_nonnegative(float_array(c, "TimeScale", "c"), "TimeScale", "c")

    def field(self, h):
        def new(y):
            hv = h(y)
            disc = jax.tree_util.tree_map(lambda a: self.c * a, hv["disc"])
            return {"disc": disc, "gen": hv["gen"]}

        return new


class SGA(Regularizer):
    r"""Symplectic gradient adjustment (Balduzzi et al. 2018): with $ξ = -h$ the players'
    gradients and $A$ the antisymmetric part of $\partial ξ$, the players follow
    $-(ξ + λA^Tξ)$, which in terms of the field is $h' = h + λ A_h h$ with
    $A_h = \tfrac12(J - J^T)$. (λ must be non-negative: a negative value is rejected;
    Balduzzi's alignment rule, which would choose λ's sign, is not applied.)"""

    lam: jax.Array

    def __init__(self, lam=1.0):
        self.lam = _param(lam, "SGA", "lam")

    def field(self, h):
        def new(y):
            hv, lin = jax.linearize(h, y)
            jh = lin(hv)
            (jt_h,) = jax.linear_transpose(lin, y)(hv)
            return jax.tree_util.tree_map(
                lambda a, b, c: a + 0.5 * self.lam * (b - c), hv, jh, jt_h
            )

        return new


REGULARIZERS = {
    cls.__name__: cls
    for cls in (GradientPenalty, Consensus, R1, R2, WGANGP, TimeScale, SGA, Unrolled)
}
