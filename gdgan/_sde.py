r"""Stochastic gradients as an SDE: the minibatch noise of the field, its Lyapunov
prediction, and paths of $dθ = h(θ)\,dt + \sqrt{α/b}\,Σ(θ)^{1/2}\,dW$ with diffrax.

Minibatch training with step α and batch size b, $θ_{k+1} = θ_k + α h_B(θ_k)$, is, to first
order in α, the Itô SDE above observed at times $t = kα$ (Li, Tai & E 2017): the drift is the
deterministic field $h$ and the diffusion matches the covariance $Σ(θ)/b$ of the minibatch
field $h_B$ per step. Around a stable equilibrium $θ^*$ with Jacobian $J$ the linearised SDE
has the stationary covariance $C$ solving $JC + CJ^T + (α/b)Σ(θ^*) = 0$.

- `gradient_covariance`: $Σ(θ)$ from per-sample influences (vmapped over samples);
- `stationary_covariance`: the (continuous or discrete) Lyapunov equation;
- `sde`: paths of the SDE (diffrax, `VirtualBrownianTree`), vmapped over noise keys;
- `empirical_covariance`: the stationary covariance of simulated or trained paths after a
  burn-in, with its standard error.
"""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import (
    InputError,
    InputTypeError,
    check_finite_tree,
    check_int,
    check_number,
    is_concrete,
)
from ._distributions import Samples
from ._field import vector_field
from ._game import Game, check_state
from ._lyapunov import solve_continuous_lyapunov, solve_discrete_lyapunov
from ._regularizers import Regularizer
from ._simulate import as_arrays
from ._tree import flatten, ravel_arrays, split_ravel

NOISES = ("state", "fixed")
BROWNIANS = ("tree", "increments")


# -- the noise of the minibatch field ---------------------------------------------------------
def _influences(game, regularizers, y, x, z):
    r"""`(n, d)` per-sample influences $ψ_i$ of the field at `y` (flattened, "disc" first)."""
    (xq, wx), (zq, wz) = game.rules()
    params, static = eqx.partition(y, eqx.is_inexact_array)

    def field_at(eps, xi, zi):
        rule_x = (jnp.concatenate([xq, xi[None]]), jnp.append((1 - eps) * wx, eps))
        rule_z = (jnp.concatenate([zq, zi[None]]), jnp.append((1 - eps) * wz, eps))
        g = eqx.tree_at(lambda g_: g_.expectation, game, Samples(rule_x, rule_z))
        h = vector_field(g, *regularizers)(0.0, eqx.combine(params, static), None)
        return ravel_arrays(h)

    def one(xi, zi):
        zero = jnp.zeros((), wx.dtype)
        return jax.jvp(lambda e: field_at(e, xi, zi), (zero,), (jnp.ones_like(zero),))[1]

    return jax.vmap(one)(x, z)


def _covariance(game, regularizers, y, x, z):
    psi = _influences(game, regularizers, y, x, z)
    c = psi - jnp.mean(psi, axis=0)
    return c.T @ c / (psi.shape[0] - 1)


def _draw(game, n, key):
    kx, kz = jax.random.split(key)
    return game.data.sample(kx, n), game.latent.sample(kz, n)


def gradient_covariance(game, y, *regularizers, n_samples=4096, key=None):
    r"""$Σ(θ)$: the covariance of the per-sample noise of the (regularised) field at `y`, so
    that a minibatch of $b$ independent (data, latent) pairs has field noise $≈ Σ/b$.

    A minibatch field is the field of the game whose expectation is the empirical measure
    $\hat P_b$ of the batch, $h_B = F(\hat P_b)$, with $F(P)$ the field (regularizers
    included) under the measure $P$. To first order in $\hat P_b - P$,
    $h_B - h = \tfrac1b\sum_i ψ_i$ with the **influence** of one pair
    $ψ_i = \tfrac{d}{dε} F\big((1-ε)P + εδ_{(x_i, z_i)}\big)|_{ε=0}$ (one `jax.jvp`,
    vmapped over samples), so $\mathrm{Cov}(h_B) = Σ/b + O(b^{-2})$ with
    $Σ = \mathrm{Cov}(ψ)$. For a field linear in the measure (no regularizer, or any whose
    field is an expectation) $ψ_i = h_i - h$ with $h_i$ the field on the single pair
    (`game.with_samples(x[i:i+1], z[i:i+1])`), i.e. $Σ$ is the covariance of per-sample
    fields. A field that is *nonlinear* in the measure is different: `GradientPenalty(η)`
    adds $-2η\,(\nabla_{θ_G}\nabla_{θ_D}V)^T\nabla_{θ_D}V$ to the generator, and the
    covariance of that product over single pairs is O(1), whereas in a minibatch it is a
    product of two averages; its influence is
    $-2η[(\nabla_G\nabla_D V)^Tψ^{∇_DV}_i + (ψ^{\nabla_G\nabla_DV}_i)^T\nabla_D V]$, which
    is what is computed here. (The minibatch penalty is also biased:
    $\mathbb E\|\nabla_D V_B\|^2 = \|\nabla_D V\|^2 + \mathrm{tr}\,Σ_{DD}/b$, an $O(η/b)$
    drift the SDE does not model.)

    Sign convention: $Σ$ is the covariance of the **field** $h$ (ascent for the
    discriminator, descent for the generator), not of the players' gradients; the two
    differ by the sign of the generator block's cross terms only through $h = -g$, which
    leaves a covariance unchanged, so $Σ$ is also the covariance of $(-h)$.

    **Arguments:**

    - `game`: a `gdgan.Game` (its data and latent distributions are sampled; the base
      measure $P$ is the game's expectation rule); `y`: the state;
    - `*regularizers`: as in `gdgan.vector_field`;
    - `n_samples`: pairs drawn; `key`: a `jax.random` key (default `PRNGKey(0)`; the same
      key gives the same samples, so $Σ(θ)$ is a smooth function of θ).

    **Returns:** an `(n, n)` symmetric positive semi-definite array in `ravel_pytree(y)`
    order ("disc" first), the unbiased sample covariance of the $ψ_i$.

    ```python
    s = gdgan.systems.get("lq", loss="gan")
    gdgan.gradient_covariance(s.game, s.equilibrium)   # ≈ [[σ⁴, 0], [0, 0]]
    ```
    """
    if not isinstance(game, Game):
        raise InputTypeError(
            "game: expected a gdgan.Game with data and latent distributions (minibatches are "
            f"drawn from them), got {type(game).__name__}"
        )
    for reg in regularizers:
        if not isinstance(reg, Regularizer):
            raise InputTypeError(f"regularizers: expected gdgan regularizers, got {reg!r}")
    n_samples = check_int(n_samples, "gradient_covariance", "n_samples", low=2)
    y = as_arrays(check_state(y, "y"))
    check_finite_tree(y, "gradient_covariance", "y")
    flatten(vector_field(game, *regularizers), y)  # structure check, one-line error
    key = jax.random.PRNGKey(0) if key is None else key
    x, z = _draw(game, n_samples, key)
    return _covariance_jit(game, tuple(regularizers), y, x, z)


_covariance_jit = eqx.filter_jit(_covariance)


def psd_sqrt(S):
    """The symmetric square root of a symmetric positive semi-definite matrix (negative
    round-off eigenvalues are clipped to 0; works for singular `S`, unlike Cholesky)."""
    lam, V = jnp.linalg.eigh((S + S.T) / 2)
    return (V * jnp.sqrt(jnp.clip(lam, 0.0))) @ V.T


# -- the Lyapunov equation --------------------------------------------------------------------
def stationary_covariance(
    J: Float[ArrayLike, "n n"],
    D: Float[ArrayLike, "n n"],
    *,
    step=None,
    method="auto",
    memory_budget=None,
) -> Float[Array, "n n"]:
    r"""The stationary covariance of the linear SDE $dθ = Jθ\,dt + D^{1/2}dW$: the solution
    $C$ of $JC + CJ^T + D = 0$ (`step=None`), or of its Euler–Maruyama chain with step
    $α$, $θ' = θ + αJθ + \sqrt α D^{1/2}ξ$: $C = MCM^T + αD$ with $M = I + αJ$
    (`step=α`). With $D = (α/b)Σ(θ^*)$ the chain is minibatch SGD linearised at $θ^*$, and
    the discrete $C$ differs from the continuous one by $O(α\|J\|)$ (the discrete equation
    is $JC + CJ^T + αJCJ^T + D = 0$).

    Solved in $O(n^3)$ time and $O(n^2)$ memory by Bartels & Stewart's Schur method (the
    discrete equation through the bilinear transform), the Kronecker form only for $n \le 6$
    (`gdgan._lyapunov`). Jittable and vmappable.

    **Arguments:** `J`: `(n, n)`; `D`: `(n, n)` symmetric PSD; `step`: `None` or α > 0;
    `method`: `"auto"`, `"schur"` (CPU), `"eigen"` or `"kron"`; `memory_budget`: bytes
    the solve may use (default: the memory available now); a larger problem raises an
    `InputError` before allocating.

    **Returns:** the symmetric `(n, n)` $C$, filled with NaN when there is no stationary
    distribution ($J$ has an eigenvalue with $\mathrm{Re}\,λ \ge 0$, or $ρ(M) \ge 1$).

    ```python
    C = gdgan.stationary_covariance(J, (lr / b) * Sigma)
    ```
    """
    J = jnp.asarray(J)
    D = jnp.asarray(D, dtype=J.dtype if jnp.issubdtype(J.dtype, jnp.floating) else float)
    J = J.astype(D.dtype)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise InputError(f"J: expected a square (n, n) matrix, got shape {J.shape}")
    if D.shape != J.shape:
        raise InputError(f"D: expected shape {J.shape} like J, got {D.shape}")
    if step is not None and is_concrete(step) and not float(step) > 0:
        raise InputError(f"step: expected None or a positive number, got {step!r}")
    who = dict(_owner="stationary_covariance", _names=("J", "D"))
    if step is None:
        C = solve_continuous_lyapunov(J, D, method=method, memory_budget=memory_budget, **who)
        ok = jnp.max(jnp.linalg.eigvals(J).real) < 0
    else:
        M = jnp.eye(J.shape[0], dtype=D.dtype) + step * J
        C = solve_discrete_lyapunov(M, step * D, method=method, memory_budget=memory_budget, **who)
        ok = jnp.max(jnp.abs(jnp.linalg.eigvals(M))) < 1
    return jnp.where(ok, C, jnp.nan)


# -- the SDE ----------------------------------------------------------------------------------
class SDEResult(eqx.Module):
    """Result of `gdgan.sde` (a pytree).

    - `ts`: `(T,)` saved times; `ys`: the state's structure with leading `(paths, T)` axes;
    - `y_final`: the state at `t1` with a leading `paths` axis;
    - `diverged`: `(paths,)` booleans, a non-finite state or $\\|y\\| >$ `diverge_norm`
      somewhere on the saved grid;
    - `diffusion_fixed`: the constant $\\sqrt{α/b}\\,Σ^{1/2}$ used (`noise="fixed"` or a
      constant `diffusion`), else `None`.
    """

    ts: jax.Array
    ys: Any
    y_final: Any
    diffusion_fixed: Any
    diverged: jax.Array


class _Drift(eqx.Module):
    field: Any
    unravel: Any = eqx.field(static=True)
    static: Any

    def __call__(self, t, v, args):
        h = self.field(t, eqx.combine(self.unravel(v), self.static), args)
        return ravel_arrays(h)


class _StateNoise(eqx.Module):
    """$\\sqrt{α/b}\\,Σ(θ)^{1/2}$ from the game (fixed samples), or from a user callable."""

    scale: jax.Array
    unravel: Any = eqx.field(static=True)
    static: Any
    game: Any = None
    regularizers: tuple = ()
    samples: Any = None
    fn: Any = None

    def __call__(self, t, v, args):
        y = eqx.combine(self.unravel(v), self.static)
        if self.fn is not None:
            B = jnp.asarray(self.fn(y))
        else:
            B = psd_sqrt(_covariance(self.game, self.regularizers, y, *self.samples))
        return self.scale * B


class _FixedNoise(eqx.Module):
    B: jax.Array

    def __call__(self, t, v, args):
        return self.B


def _is_key_batch(key):
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.ndim == 1
    return key.ndim == 2


def sde(
    field,
    y0,
    t1,
    *,
    lr,
    batch,
    key,
    n_paths=None,
    regularizers=(),
    diffusion=None,
    noise="state",
    y_star=None,
    n_samples=1024,
    sample_key=None,
    t0=0.0,
    dt=None,
    solver=None,
    tol=None,
    brownian="tree",
    saveat=None,
    n_save=1001,
    diverge_norm=1e6,
    max_steps=None,
    args=None,
) -> SDEResult:
    r"""Paths of the minibatch-SGD SDE $dθ = h(θ)\,dt + \sqrt{α/b}\,Σ(θ)^{1/2}\,dW$ (Itô),
    integrated with diffrax on the flattened state ("disc" first), one path per noise key
    (vmapped). Time is SGD time: $t = kα$ after $k$ steps of step α.

    The terms are `diffrax.MultiTerm(ODETerm(h), ControlTerm(g, VirtualBrownianTree))`,
    stepped with `diffrax.ConstantStepSize` of size `dt`. `noise="state"` uses the
    state-dependent $Σ(θ)$ (multiplicative noise: the solver must be Itô, e.g.
    `diffrax.Euler()` = Euler–Maruyama or `diffrax.ItoMilstein()`); `noise="fixed"` freezes
    $Σ$ at `y_star` (or `y0`) — additive noise, for which Itô and Stratonovich agree and
    higher-order solvers (`diffrax.Heun()`, `diffrax.SRA1()`, `diffrax.ShARK()`) are valid.

    **Arguments:**

    - `field`: a `gdgan.Game` (the field is `gdgan.vector_field(game, *regularizers)` and the
      default diffusion comes from `gdgan.gradient_covariance`), or a `field(t, y, args)`
      callable together with `diffusion`;
    - `y0`: the initial state; `t1`: the final time;
    - `lr` (α > 0), `batch` (b ≥ 1): the noise is scaled by $\sqrt{α/b}$;
    - `key`: a `jax.random` key split into `n_paths` (default 1) keys, or a batch of keys
      (one path each);
    - `diffusion`: `None` (from the game), a callable `y -> (n, m)` matrix $Σ(θ)^{1/2}$ or a
      constant `(n, m)` matrix; `noise`: `"state"` or `"fixed"` (see above);
    - `y_star`: where `noise="fixed"` evaluates $Σ$; `n_samples`, `sample_key`: the samples
      of `gdgan.gradient_covariance` (fixed for the whole run; `sample_key` defaults to
      `jax.random.PRNGKey(0)`, so two calls without it share the samples);
    - `dt`: the step (default `lr / 4`); `solver`: a diffrax solver (default
      `diffrax.Euler()`); `brownian`: `"tree"` (a `diffrax.VirtualBrownianTree` with
      tolerance `tol`, default `dt / 8`) or `"increments"` (`diffrax.UnsafeBrownianPath`:
      exact independent $N(0, dt)$ increments for the constant steps, several times faster,
      no reverse-mode gradients);
    - `saveat`: a `diffrax.SaveAt(ts=...)` or default `n_save` equally spaced times;
      `diverge_norm`; `max_steps` (default: enough for `dt`); `args`: passed to the field.

    **Returns:** an `SDEResult`.

    ```python
    s = gdgan.systems.get("lq", loss="gan")
    out = gdgan.sde(s.game, s.equilibrium, 200.0, lr=0.05, batch=8,
                    key=jax.random.PRNGKey(0), n_paths=64, noise="fixed")
    gdgan.empirical_covariance(out.ys, burn_in=0.25).cov   # ≈ stationary_covariance(J, α/b Σ)
    ```
    """
    if isinstance(field, Game):
        game, field = field, vector_field(field, *tuple(regularizers))
    else:
        if not callable(field):
            raise InputTypeError(
                f"field: expected a gdgan.Game or a field(t, y, args), got {field!r}"
            )
        if regularizers:
            raise InputError(
                "regularizers: only used when a game is passed; the field given "
                "already includes its regularizers"
            )
        if diffusion is None:
            raise InputError(
                "diffusion: required when `field` is a callable rather than a "
                "gdgan.Game (pass Σ^{1/2} as a matrix or a callable y -> matrix)"
            )
        game = None
    if brownian not in BROWNIANS:
        raise InputError(f"brownian: expected one of {list(BROWNIANS)}, got {brownian!r}")
    if noise not in NOISES:
        raise InputError(f"noise: expected one of {list(NOISES)}, got {noise!r}")
    y0 = as_arrays(check_state(y0, "y0"))
    check_finite_tree(y0, "sde", "y0")
    if y_star is not None:
        y_star = as_arrays(check_state(y_star, "y_star"))
    for name, value in (("lr", lr), ("t1", t1)):
        if is_concrete(value):
            check_number(value, "sde", name)
    if not float(t1) > float(t0):
        raise InputError(f"sde: t1: expected a number greater than t0 = {float(t0)}, got {t1!r}")
    batch = check_int(batch, "sde", "batch")
    if dt is None:
        dt = lr / 4
    if is_concrete(dt):
        check_number(dt, "sde", "dt")
    if solver is None:
        solver = diffrax.Euler()
    if not isinstance(solver, diffrax.AbstractSolver):
        raise InputTypeError(
            f"solver: expected a diffrax solver, e.g. diffrax.Euler(), got {solver!r}"
        )
    if saveat is not None and not (
        isinstance(saveat, diffrax.SaveAt) and saveat.subs.ts is not None
    ):
        raise InputTypeError(f"saveat: expected a diffrax.SaveAt(ts=...), got {saveat!r}")
    check_int(n_save, "sde", "n_save", low=2)
    if key is None:
        raise InputError("key: a jax.random key (or a batch of keys) is required")
    if _is_key_batch(key):
        if n_paths is not None:
            raise InputError("n_paths: not used when `key` is already a batch of keys")
        keys = key
    else:
        keys = jax.random.split(key, check_int(1 if n_paths is None else n_paths, "sde", "n_paths"))

    v0, unravel, static = split_ravel(y0)
    flatten(field, y0, t0, args)  # structure check, one-line error
    scale = jnp.sqrt(jnp.asarray(lr, v0.dtype) / batch)
    fixed = None
    if diffusion is None:
        sample_key = jax.random.PRNGKey(0) if sample_key is None else sample_key
        samples = _draw(game, check_int(n_samples, "sde", "n_samples", low=2), sample_key)
        noise_fn = _StateNoise(scale, unravel, static, game, tuple(regularizers), samples)
        if noise == "fixed":
            at = y0 if y_star is None else y_star
            fixed = noise_fn(t0, ravel_arrays(at), args)
    elif callable(diffusion):
        noise_fn = _StateNoise(scale, unravel, static, fn=diffusion)
        if noise == "fixed":
            at = y0 if y_star is None else y_star
            fixed = scale * jnp.asarray(diffusion(at))
    else:
        B = jnp.asarray(diffusion, v0.dtype)
        if B.ndim != 2 or B.shape[0] != v0.size:
            raise InputError(f"diffusion: expected an ({v0.size}, m) matrix, got shape {B.shape}")
        fixed = scale * B
    if fixed is None:
        if not isinstance(solver, diffrax.AbstractItoSolver):
            raise InputError(
                f"solver: state-dependent noise needs an Itô solver (diffrax.Euler(), "
                f"diffrax.ItoMilstein()), got {type(solver).__name__}; or use noise='fixed'"
            )
        diff = noise_fn
        m = jax.eval_shape(lambda v: noise_fn(t0, v, args), v0).shape[1]
    else:
        diff = _FixedNoise(fixed)
        m = fixed.shape[1]
    dtype = v0.dtype
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    t0, t1, dt = arr(t0), arr(t1), arr(dt)
    tol = dt / 8 if tol is None else arr(tol)
    if saveat is None:
        saveat = diffrax.SaveAt(ts=jnp.linspace(t0, t1, n_save))
    if max_steps is None:
        max_steps = int(np.ceil(float(t1 - t0) / float(dt))) + 2
    levy = getattr(solver, "minimal_levy_area", None) or diffrax.BrownianIncrement
    if levy is diffrax.AbstractSpaceTimeLevyArea:
        levy = diffrax.SpaceTimeLevyArea
    opt = _Options(
        t0=t0,
        t1=t1,
        dt=dt,
        tol=tol,
        diverge_norm=arr(diverge_norm),
        solver=solver,
        saveat=saveat,
        max_steps=int(max_steps),
        levy=levy,
        shape=(m,),
        brownian=brownian,
    )
    return _sde(_Drift(field, unravel, static), diff, v0, keys, args, unravel, static, fixed, opt)


class _Options(eqx.Module):
    """Checked options of `sde`, handed to the compiled core as one pytree: arrays are
    traced (new values reuse the compiled code), the rest is static."""

    t0: jax.Array
    t1: jax.Array
    dt: jax.Array
    tol: jax.Array
    diverge_norm: jax.Array
    solver: Any
    saveat: Any
    max_steps: int = eqx.field(static=True)
    levy: Any = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)
    brownian: str = eqx.field(static=True)


@eqx.filter_jit
def _sde(drift, diff, v0, keys, args, unravel, static, fixed, opt: _Options):
    def one(k):
        if opt.brownian == "tree":
            bm = diffrax.VirtualBrownianTree(
                opt.t0, opt.t1, opt.tol, opt.shape, k, levy_area=opt.levy
            )
            adjoint = diffrax.RecursiveCheckpointAdjoint()
        else:
            bm = diffrax.UnsafeBrownianPath(opt.shape, k, levy_area=opt.levy)
            adjoint = diffrax.ForwardMode()
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diff, bm))
        sol = diffrax.diffeqsolve(
            terms,
            opt.solver,
            opt.t0,
            opt.t1,
            opt.dt,
            v0,
            args,
            saveat=opt.saveat,
            stepsize_controller=diffrax.ConstantStepSize(),
            max_steps=opt.max_steps,
            adjoint=adjoint,
        )
        return sol.ts, sol.ys

    ts, vs = jax.vmap(one)(keys)
    norms = jnp.linalg.norm(vs, axis=-1)
    diverged = jnp.any(~jnp.isfinite(norms) | (norms > opt.diverge_norm), axis=-1)
    ys = eqx.combine(jax.vmap(jax.vmap(unravel))(vs), static)
    return SDEResult(
        ts=ts[0],
        ys=ys,
        y_final=jax.tree_util.tree_map(lambda a: a[:, -1], ys),
        diffusion_fixed=fixed,
        diverged=diverged,
    )


# -- the empirical stationary covariance ------------------------------------------------------
class CovarianceEstimate(eqx.Module):
    """Result of `gdgan.empirical_covariance`: `mean` `(n,)`, `cov` `(n, n)`, `stderr`
    `(n, n)` (standard error of each entry of `cov` from the spread over `n_blocks`
    independent-ish blocks), `n_blocks`."""

    mean: Float[Array, " n"]
    cov: Float[Array, "n n"]
    stderr: Float[Array, "n n"]
    n_blocks: int = eqx.field(static=True)


def empirical_covariance(ys, *, burn_in=0.5, blocks=None, paths=True):
    r"""The stationary covariance of trajectories after a burn-in, with its standard error.

    States are flattened (`ravel_pytree`, "disc" first). The saved times after the first
    `burn_in` fraction are cut into blocks — each path is one block when there are at least
    10 paths, else each path is cut into `ceil(10 / paths)` contiguous blocks (batch means)
    — and the covariance about the overall mean is computed per block. `cov` is the mean
    over blocks and `stderr` their standard deviation over $\sqrt{\text{blocks}}$. Blocks of
    one path must be long compared with the autocorrelation time for the error to be
    honest.

    **Arguments:**

    - `ys`: states with leading `(paths, T)` axes (e.g. `gdgan.sde(...).ys`), or a leading
      `(T,)` axis only with `paths=False` (e.g. `gdgan.train(...).ys`);
    - `burn_in`: the fraction in [0, 1) of saved times to drop; `blocks`: blocks per path
      (default as above).

    **Returns:** a `CovarianceEstimate`.

    ```python
    est = gdgan.empirical_covariance(out.ys, burn_in=0.25)
    est.cov, est.stderr
    ```
    """
    if not (0 <= burn_in < 1):
        raise InputError(f"burn_in: expected a fraction in [0, 1), got {burn_in!r}")
    params = eqx.filter(ys, eqx.is_inexact_array)
    lead = 2 if paths else 1
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or any(np.ndim(a) < lead for a in leaves):
        raise InputError(
            f"ys: expected states with {lead} leading axes ({'(paths, T)' if paths else '(T,)'})"
        )
    flat = jnp.concatenate(
        [jnp.reshape(a, a.shape[:lead] + (-1,)) for a in leaves], axis=-1
    )  # leaves in ravel_pytree order ("disc" first)
    if not paths:
        flat = flat[None]
    P, T, n = flat.shape
    flat = flat[:, int(np.floor(burn_in * T)) :]
    if blocks is None:
        blocks = 1 if P >= 10 else -(-10 // P)
    blocks = check_int(blocks, "empirical_covariance", "blocks")
    L = flat.shape[1] // blocks
    if L < 2:
        raise InputError(f"blocks: {blocks} blocks leave fewer than 2 saved states each")
    x = flat[:, : L * blocks].reshape(P * blocks, L, n)
    mean = jnp.mean(x, axis=(0, 1))
    c = x - mean
    per = jnp.einsum("bti,btj->bij", c, c) / L
    k = per.shape[0]
    cov = jnp.mean(per, axis=0)
    se = jnp.std(per, axis=0, ddof=1) / np.sqrt(k) if k > 1 else jnp.full_like(cov, jnp.nan)
    return CovarianceEstimate(mean=mean, cov=cov, stderr=se, n_blocks=int(k))
