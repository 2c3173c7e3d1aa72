r"""Li, Madry, Peebles & Schmidt (2018), "On the limitations of first-order approximation in
GAN dynamics": a mixture of two unit Gaussians learned against a two-interval discriminator.

The objective is `gdgan.systems.TwoGaussiansValue`,

$$L(μ, l, r) = 1 + \tfrac12\sum_{i,j}[Φ(r_i - μ^*_j) - Φ(l_i - μ^*_j)]
                 - \tfrac12\sum_{i,j}[Φ(r_i - μ_j) - Φ(l_i - μ_j)],$$

minimised over the generator's means μ and maximised over the intervals $[l_i, r_i]$. This
module holds the exact best response (so $\max_{l,r} L = 1 + \mathrm{TV}$), the two discrete
dynamics the paper compares — gradient descent against the *optimal* discriminator and
first-order gradient descent–ascent on $(μ, l, r)$ — with a failure-mode classifier, a vmapped
grid runner over initial means, and both dynamics as continuous-time fields for
`gdgan.simulate`. Everything is pure JAX: `jit` and `vmap` work through every function, and
the step size `eta` and the true means `mu_star` are array arguments.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._analysis import enum_name
from .._checks import InputError, InputTypeError, check_int, check_int_array
from .._field import VectorField, vector_field
from .._game import ValueGame, check_state
from ._two_gaussians import TwoGaussiansValue

BIG = 1e3
"""Stand-in for $±∞$ as an interval endpoint: $φ$ and $Φ$ are exactly 0 / 1 there in float64."""

ORDERS = ("simultaneous", "alternating")


# -- the objective and the optimal discriminator ------------------------------------------


def objective(
    mu: Float[ArrayLike, " 2"],
    l: Float[ArrayLike, " 2"],
    r: Float[ArrayLike, " 2"],
    mu_star: Float[ArrayLike, " 2"],
) -> Float[Array, ""]:
    r"""$L(μ, l, r)$ of Li et al. (2018) (`gdgan.systems.TwoGaussiansValue`).

    **Arguments:** `mu` (2,) generator means; `l`, `r` (2,) interval endpoints; `mu_star`
    (2,) true means.

    **Returns:** a scalar; $L \in [0, 2]$ when $r \ge l$, and $\max_{l,r} L = 1 + \mathrm{TV}$.

    ```python
    gdgan.li_madry.objective(jnp.array([0., 1.]), jnp.array([-9., 5.]),
                             jnp.array([0.5, 5.]), jnp.array([-0.5, 0.5]))
    ```
    """
    mu_star = jnp.asarray(mu_star, dtype=float)
    y = {"disc": {"l": l, "r": r}, "gen": {"mu": mu}}
    return TwoGaussiansValue(mu_star)(y)


_SQRT_2PI = float(np.sqrt(2 * np.pi))


def _phi(x):
    return jnp.exp(-0.5 * x * x) / _SQRT_2PI


def _g(x, mu, mu_star):
    """$g(x) = p_{μ^*}(x) - p_μ(x)$ (elementwise in `x`)."""
    d = x[..., None]
    return 0.5 * jnp.sum(_phi(d - mu_star) - _phi(d - mu), axis=-1)


def _sign_g(x, mu, mu_star):
    """`g(x) > 0`, computed as $e^{m(x)} g(x)$ with $m$ the smallest exponent, so that it
    never underflows."""
    e_star = -0.5 * (x[..., None] - mu_star) ** 2
    e_gen = -0.5 * (x[..., None] - mu) ** 2
    m = jnp.maximum(jnp.max(e_star, axis=-1), jnp.max(e_gen, axis=-1))[..., None]
    return jnp.sum(jnp.exp(e_star - m), axis=-1) > jnp.sum(jnp.exp(e_gen - m), axis=-1)


def gradients(
    mu: Float[ArrayLike, " 2"],
    l: Float[ArrayLike, " 2"],
    r: Float[ArrayLike, " 2"],
    mu_star: Float[ArrayLike, " 2"],
) -> tuple[Float[Array, " 2"], Float[Array, " 2"], Float[Array, " 2"]]:
    r"""The partial derivatives of $L$ in closed form (docs, Theory §9):
    $\partial L/\partial μ_j = \tfrac12\sum_i[φ(r_i - μ_j) - φ(l_i - μ_j)]$,
    $\partial L/\partial l_i = -g(l_i)$, $\partial L/\partial r_i = g(r_i)$.

    **Returns:** `(dL/dmu, dL/dl, dL/dr)`, each of shape (2,).

    ```python
    gdgan.li_madry.gradients(mu, l, r, mu_star)   # == jax.grad(objective, (0, 1, 2))(...)
    ```
    """
    g_mu = 0.5 * jnp.sum(_phi(r[:, None] - mu[None, :]) - _phi(l[:, None] - mu[None, :]), axis=0)
    return g_mu, -_g(l, mu, mu_star), _g(r, mu, mu_star)


def best_response(
    mu: Float[ArrayLike, " 2"],
    mu_star: Float[ArrayLike, " 2"],
    *,
    n_grid=1024,
    margin=10.0,
    n_bisect=45,
) -> tuple[Float[Array, " 2"], Float[Array, " 2"]]:
    r"""The optimal discriminator $\{g > 0\}$, $g = p_{μ^*} - p_μ$, as two intervals.

    $g$ is a sum of four Gaussians with equal variance, so it has at most three sign changes
    and $\{g > 0\}$ is a union of at most two intervals. The sign of $g$ (computed as the log
    ratio of the densities, which never underflows) is evaluated on `n_grid` equally spaced
    points of $[\min(μ, μ^*) - $ `margin`$, \max(μ, μ^*) + $ `margin`$]$; the first three
    sign changes are refined by `n_bisect` vectorised bisection steps. Endpoints beyond the
    grid are $±$`BIG` ($= 10^3$). Missing intervals are empty, $l_i = r_i = $ `BIG`. Roots
    outside the grid, or two roots closer than the grid spacing, change $L$ by less than
    $Φ(-\text{margin})$ resp. $O(h^3)$. All arrays have fixed sizes, so it `vmap`s.

    **Arguments:** `mu` (2,) generator means; `mu_star` (2,) true means; `n_grid`, `margin`,
    `n_bisect`: the root finder's resolution (static).

    **Returns:** `(l, r)`, two arrays of shape (2,) with $l_i \le r_i$.

    ```python
    l, r = gdgan.li_madry.best_response(jnp.array([0.0, 1.0]), jnp.array([-0.5, 0.5]))
    ```
    """
    mu = jnp.sort(jnp.asarray(mu, dtype=float))
    mu_star = jnp.sort(jnp.asarray(mu_star, dtype=float))
    lo = jnp.minimum(mu[0], mu_star[0]) - margin
    hi = jnp.maximum(mu[1], mu_star[1]) + margin
    x = jnp.linspace(lo, hi, n_grid)
    pos = _sign_g(x, mu, mu_star)
    change = pos[1:] != pos[:-1]
    (idx,) = jnp.nonzero(change, size=3, fill_value=n_grid - 2)
    count = jnp.sum(change)
    a, b = x[idx], x[idx + 1]
    left_pos = pos[idx]

    def bisect(_, ab):
        a, b = ab
        m = 0.5 * (a + b)
        same = _sign_g(m, mu, mu_star) == left_pos
        return jnp.where(same, m, a), jnp.where(same, b, m)

    a, b = jax.lax.fori_loop(0, n_bisect, bisect, (a, b))
    k = jnp.arange(3)
    roots = jnp.where(k < count, 0.5 * (a + b), BIG)
    # boundaries of the positive set, padded with +BIG (empty intervals at BIG)
    e = jnp.where(
        pos[0],
        jnp.concatenate([jnp.array([-BIG]), roots]),
        jnp.concatenate([roots, jnp.array([BIG])]),
    )
    return e[jnp.array([0, 2])], e[jnp.array([1, 3])]


def tv(mu: Float[ArrayLike, " 2"], mu_star: Float[ArrayLike, " 2"], **kwargs) -> Float[Array, ""]:
    r"""Total variation $\mathrm{TV}(p_μ, p_{μ^*}) = \tfrac12\int|p_μ - p_{μ^*}| =
    \max_{l,r} L(μ, l, r) - 1$, through `best_response` (`kwargs` are passed to it).

    ```python
    gdgan.li_madry.tv(jnp.array([0.0, 1.0]), jnp.array([-0.5, 0.5]))
    ```
    """
    l, r = best_response(mu, mu_star, **kwargs)
    return objective(mu, l, r, mu_star) - 1.0


def optimal_gradient(
    mu: Float[ArrayLike, " 2"], mu_star: Float[ArrayLike, " 2"], **kwargs
) -> Float[Array, " 2"]:
    r"""Danskin's gradient $\nabla_μ L(μ, l^*, r^*)$ at the best response $(l^*, r^*)$: the
    gradient of $μ \mapsto \max_{l,r}L = 1 + \mathrm{TV}$ wherever that is differentiable.

    ```python
    gdgan.li_madry.optimal_gradient(jnp.array([0.0, 1.0]), jnp.array([-0.5, 0.5]))
    ```
    """
    mu = jnp.asarray(mu, dtype=float)
    l, r = best_response(mu, mu_star, **kwargs)
    return gradients(mu, l, r, jnp.asarray(mu_star, dtype=float))[0]


# -- outcomes -------------------------------------------------------------------------------


class Result(eqx.Enumeration):
    """How a Li et al. run ended (jittable, vmappable; compare with `==`). Failed runs are
    classified in this order (thresholds are keyword arguments of `optimal`/`first_order`):

    - `success`: both means, as a set, within `success_tol` of μ*;
    - `mode_collapse`: $|μ_1 - μ_2| <$ `collapse_tol`;
    - `discriminator_collapse`: an interval had $|r_i - l_i| <$ `width_tol` over the whole
      last quarter of the recorded history (it shrank to nothing and stayed shut);
    - `vanishing_gradient`: $\\|\\nabla_μ L\\| <$ `grad_tol` over the last quarter (the
      intervals drifted away from the means, so the generator no longer moves);
    - `oscillation`: anything else (the generator keeps moving without settling at μ*).
    """

    success = "both generator means ended within success_tol of the true means"
    mode_collapse = "the two generator means merged (|mu1 - mu2| < collapse_tol)"
    discriminator_collapse = (
        "an interval shrank to zero width (< width_tol) and stayed shut over the last quarter"
    )
    vanishing_gradient = (
        "the generator's gradient vanished (< grad_tol) over the last quarter: the intervals "
        "drifted away from the means"
    )
    oscillation = "the generator kept moving without settling at the true means"


FAILURE_MODES = ("mode_collapse", "discriminator_collapse", "vanishing_gradient", "oscillation")


def result_name(result):
    """The member name(s) of a `Result` item, e.g. `"mode_collapse"` (vectorised)."""
    return enum_name(Result, result)


def success_of(mu, mu_star, tol=0.1):
    """Whether both means, as a set, are within `tol` of μ* (last axis of size 2)."""
    d = jnp.abs(jnp.sort(mu, axis=-1) - jnp.sort(jnp.asarray(mu_star, dtype=float), axis=-1))
    return jnp.max(d, axis=-1) <= tol


def classify(
    mu_hist,
    l_hist,
    r_hist,
    grad_hist,
    mu_star,
    *,
    success_tol=0.1,
    collapse_tol=0.05,
    width_tol=1e-3,
    grad_tol=1e-4,
):
    """The `Result` of a run from its recorded history (leading axis: time).

    **Arguments:** histories of μ (T, 2), l (T, 2), r (T, 2), $\\|\\nabla_μ L\\|$ (T,);
    `mu_star`; the thresholds described in `Result`.

    ```python
    run = gdgan.li_madry.first_order(mu0, disc0, mu_star, 0.1, 1000)
    gdgan.li_madry.classify(run.mu, run.l, run.r, run.grad_norm, mu_star) == run.result
    ```
    """
    n = mu_hist.shape[0]
    late = slice(n - max(n // 4, 1), n)
    mu_end = mu_hist[-1]
    ok = success_of(mu_end, mu_star, success_tol)
    collapsed = jnp.abs(mu_end[0] - mu_end[1]) < collapse_tol
    width = jnp.abs(r_hist[late] - l_hist[late])
    shut = jnp.any(jnp.max(width, axis=0) < width_tol)
    vanished = jnp.max(grad_hist[late]) < grad_tol
    return Result.where(
        ok,
        Result.success,
        Result.where(
            collapsed,
            Result.mode_collapse,
            Result.where(
                shut,
                Result.discriminator_collapse,
                Result.where(vanished, Result.vanishing_gradient, Result.oscillation),
            ),
        ),
    )


class Run(eqx.Module):
    """A discrete run (a pytree; batched under `vmap`). Histories are recorded every `stride`
    steps, starting with the initial state:

    - `steps` (T,): the step numbers; `mu`, `l`, `r` (T, 2): the means and the endpoints;
    - `tv` (T,): $\\mathrm{TV}(p_μ, p_{μ^*})$; `grad_norm` (T,): $\\|\\nabla_μ L\\|$ at the
      discriminator in use;
    - `success`: the final means within `success_tol`; `result`: a `Result` item;
    - `result_name` (property): its name(s).
    """

    steps: jax.Array
    mu: jax.Array
    l: jax.Array
    r: jax.Array
    tv: jax.Array
    grad_norm: jax.Array
    success: jax.Array
    result: Result

    @property
    def result_name(self):
        return result_name(self.result)

    def success_at(self, mu_star, tol=0.1):
        """Success at every recorded step: (..., T) booleans."""
        return success_of(self.mu, mu_star, tol)


# -- the hand-off to the compiled cores ----------------------------------------------------


class _RunOptions(eqx.Module):
    """What `optimal`, `first_order` and `grid` hand to their compiled cores besides the
    state, μ* and the step sizes: the `Result` thresholds as array leaves (new values do not
    recompile) and the run's sizes as static fields."""

    success_tol: jax.Array
    collapse_tol: jax.Array
    width_tol: jax.Array
    grad_tol: jax.Array
    steps: int = eqx.field(static=True)
    stride: int = eqx.field(static=True)
    record_tv: bool = eqx.field(static=True)
    n_grid: int = eqx.field(static=True)


def _run_options(
    owner,
    steps,
    stride,
    *,
    n_grid,
    record_tv=True,
    success_tol=0.1,
    collapse_tol=0.05,
    width_tol=1e-3,
    grad_tol=1e-4,
):
    """The `_RunOptions` of a run, after checking `steps` and `stride` (positive ints,
    `stride` divides `steps`); errors name `owner`, the public function."""
    steps, stride = check_int(steps, owner, "steps"), check_int(stride, owner, "stride")
    if steps % stride:
        raise InputError(f"{owner}: stride: expected a divisor of steps = {steps}, got {stride}")
    tols = (jnp.asarray(t, dtype=float) for t in (success_tol, collapse_tol, width_tol, grad_tol))
    return _RunOptions(*tols, steps, stride, bool(record_tv), n_grid)


def _judged(run, mu_star, opt: _RunOptions):
    """`run` with `success` and `result` filled in from its history."""
    result = classify(
        run.mu,
        run.l,
        run.r,
        run.grad_norm,
        mu_star,
        success_tol=opt.success_tol,
        collapse_tol=opt.collapse_tol,
        width_tol=opt.width_tol,
        grad_tol=opt.grad_tol,
    )
    success = success_of(run.mu[-1], mu_star, opt.success_tol)
    return eqx.tree_at(lambda x: (x.success, x.result), run, (success, result))


def _stack0(x0, xs):
    return jnp.concatenate([x0[None], xs], axis=0)


# -- the optimal-discriminator dynamics ----------------------------------------------------


def optimal(
    mu0,
    mu_star,
    eta,
    steps,
    *,
    stride=1,
    success_tol=0.1,
    collapse_tol=0.05,
    width_tol=1e-3,
    grad_tol=1e-4,
    n_grid=1024,
):
    r"""Gradient descent against the optimal discriminator: $μ \leftarrow μ - η\nabla_μ
    L(μ, l^*(μ), r^*(μ))$, i.e. gradient descent on $1 + \mathrm{TV}$ by Danskin's theorem.

    **Arguments:** `mu0` (2,) initial means; `mu_star` (2,); `eta` the step size (an array
    leaf: vmap over it); `steps` the number of steps and `stride` the recording stride
    (static ints, `stride` divides `steps`); the `Result` thresholds (array leaves); `n_grid`
    for `best_response`.

    **Returns:** a `Run`; `l`, `r` are the best responses at the recorded means.

    ```python
    run = gdgan.li_madry.optimal(jnp.array([-1.0, 0.8]), jnp.array([-0.5, 0.5]), 0.1, 200)
    run.success, run.result_name
    ```
    """
    opt = _run_options(
        "optimal",
        steps,
        stride,
        n_grid=n_grid,
        success_tol=success_tol,
        collapse_tol=collapse_tol,
        width_tol=width_tol,
        grad_tol=grad_tol,
    )
    mu0 = jnp.asarray(mu0, dtype=float)
    eta = jnp.asarray(eta, dtype=mu0.dtype)
    return _optimal(mu0, jnp.asarray(mu_star, dtype=float), eta, opt)


@eqx.filter_jit
def _optimal(mu0, mu_star, eta, opt: _RunOptions):
    def probe(mu):
        l, r = best_response(mu, mu_star, n_grid=opt.n_grid)
        grad = gradients(mu, l, r, mu_star)[0]
        return l, r, grad, objective(mu, l, r, mu_star) - 1.0

    def step(mu, _):
        grad = probe(mu)[2]
        return mu - eta * grad, None

    def chunk(mu, _):
        mu, _ = jax.lax.scan(step, mu, None, length=opt.stride)
        l, r, grad, t = probe(mu)
        return mu, (mu, l, r, t, jnp.linalg.norm(grad))

    _, (mus, ls, rs, tvs, gns) = jax.lax.scan(chunk, mu0, None, length=opt.steps // opt.stride)
    l0, r0, g0, t0 = probe(mu0)
    run = Run(
        steps=jnp.arange(0, opt.steps + 1, opt.stride),
        mu=_stack0(mu0, mus),
        l=_stack0(l0, ls),
        r=_stack0(r0, rs),
        tv=_stack0(t0, tvs),
        grad_norm=_stack0(jnp.linalg.norm(g0), gns),
        success=jnp.asarray(False),
        result=Result.oscillation,
    )
    return _judged(run, mu_star, opt)


# -- first-order dynamics -----------------------------------------------------------------


def random_disc(key, low=-2.0, high=2.0):
    """A random discriminator: four sorted $U($`low`, `high`$)$ points $l_1 < r_1 < l_2 < r_2$.

    **Returns:** `{"l": (2,), "r": (2,)}`.

    ```python
    gdgan.li_madry.random_disc(jax.random.PRNGKey(0))
    ```
    """
    p = jnp.sort(jax.random.uniform(key, (4,), minval=low, maxval=high, dtype=float))
    return {"l": p[jnp.array([0, 2])], "r": p[jnp.array([1, 3])]}


def _order(l, r):
    """Euclidean projection onto $\\{r_i \\ge l_i\\}$: an inverted interval becomes empty at
    its midpoint."""
    m = 0.5 * (l + r)
    bad = r < l
    return jnp.where(bad, m, l), jnp.where(bad, m, r)


def _isotonic(x):
    r"""Euclidean projection of `x` (last axis) onto $x_1 \le x_2 \le \dots$ (isotonic
    regression, by the min–max formula $\hat x_i = \max_{j \le i}\min_{k \ge i}
    \mathrm{mean}(x_j..x_k)$)."""
    n = x.shape[-1]
    c = jnp.concatenate([jnp.zeros(x.shape[:-1] + (1,), x.dtype), jnp.cumsum(x, -1)], -1)
    j, k = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
    means = (c[..., k + 1] - c[..., j]) / jnp.maximum(k - j + 1, 1)
    i = jnp.arange(n)[:, None, None]
    big = jnp.asarray(jnp.inf, x.dtype)
    inner = jnp.where((k >= i) & (j <= k), means[..., None, :, :], big)  # (..., i, j, k)
    mins = jnp.min(inner, axis=-1)  # (..., i, j)
    return jnp.max(jnp.where(j[None, :, 0] <= i[:, :, 0], mins, -big), axis=-1)


def _order_full(l, r):
    r"""Projection onto $l_1 \le r_1 \le l_2 \le r_2$ (see `_isotonic`)."""
    p = _isotonic(jnp.stack([l[0], r[0], l[1], r[1]]))
    return p[jnp.array([0, 2])], p[jnp.array([1, 3])]


def _is_bool(x):
    return isinstance(x, (bool, np.bool_)) or (hasattr(x, "dtype") and jnp.asarray(x).dtype == bool)


class _Variant(eqx.Module):
    """One first-order variant: the step sizes and the (traceable) choices of `first_order`,
    every field an array, so that one compilation serves every variant and any field may be
    vmapped over."""

    eta: jax.Array
    eta_disc: jax.Array
    disc_steps: jax.Array
    alternating: jax.Array
    keep_ordered: jax.Array
    full_order: jax.Array


def _variant(owner, eta, eta_disc, order, disc_steps, keep_ordered, full_order):
    """Checks the choices of `first_order` (or `grid`) for `owner`; returns a `_Variant`."""
    if not (isinstance(order, str) and order in ORDERS) and not _is_bool(order):
        raise InputError(f"{owner}: `order` must be one of {list(ORDERS)}, got {order!r}")
    alternating = jnp.asarray(order == "alternating" if isinstance(order, str) else order, bool)
    disc_steps = jnp.asarray(check_int_array(disc_steps, owner, "disc_steps"), dtype=int)
    if not _is_bool(keep_ordered):
        raise InputTypeError(f"{owner}: `keep_ordered` must be a bool, got {keep_ordered!r}")
    eta = jnp.asarray(eta, float)
    eta_disc = eta if eta_disc is None else jnp.asarray(eta_disc, float)
    return _Variant(
        eta,
        eta_disc,
        disc_steps,
        alternating,
        jnp.asarray(keep_ordered, dtype=bool),
        jnp.asarray(full_order, dtype=bool),
    )


def first_order(
    mu0,
    disc0,
    mu_star,
    eta,
    steps,
    *,
    order="simultaneous",
    disc_steps=1,
    keep_ordered=True,
    stride=1,
    success_tol=0.1,
    collapse_tol=0.05,
    width_tol=1e-3,
    grad_tol=1e-4,
    record_tv=True,
    n_grid=512,
    eta_disc=None,
    full_order=False,
):
    r"""First-order gradient descent–ascent on $(μ, l, r)$ with step η: the generator
    descends $L$, the endpoints ascend it.

    One generator step is `disc_steps` ascent steps on $(l, r)$ (step `eta_disc`, default
    η) and one descent step on μ (step η); with `order="simultaneous"` the generator steps
    together with the *last* discriminator step, i.e. its gradient is taken at the
    discriminator after `disc_steps − 1` steps (for `disc_steps=1`: plain simultaneous GDA;
    for more, the extra steps reach the generator), with `order="alternating"` at the
    discriminator after all its steps. `keep_ordered=True` projects every interval back
    onto $r_i \ge l_i$ after each discriminator step (an inverted interval becomes empty at
    its midpoint); `False` lets intervals invert, making $D$ signed. `full_order=True`
    instead projects the four endpoints onto $l_1 \le r_1 \le l_2 \le r_2$ (isotonic
    regression), so the intervals also cannot overlap and $D \in \{0, 1\}$.

    **Arguments:** `mu0` (2,); `disc0` `{"l": (2,), "r": (2,)}` (e.g. `random_disc(key)`);
    `mu_star` (2,); `eta` (array leaf); `eta_disc` (array leaf, default `eta`); `steps`
    generator steps and `stride` (static ints); `order`: `"simultaneous"` or
    `"alternating"`, or a boolean that is `True` for alternating; `order`, `keep_ordered`,
    `full_order` (bools) and `disc_steps` (int) may be traced (vmap over them: one
    compilation serves every variant); the `Result` thresholds (array leaves); `record_tv`
    whether to compute the TV history (`best_response` with `n_grid` points per record).

    **Returns:** a `Run` (its `tv` is NaN when `record_tv=False`).

    ```python
    mu_star = jnp.array([-0.5, 0.5])
    disc0 = gdgan.li_madry.random_disc(jax.random.PRNGKey(0))
    run = gdgan.li_madry.first_order(jnp.array([-1.0, 0.8]), disc0, mu_star, 0.1, 1000)
    run.result_name
    ```
    """
    opt = _run_options(
        "first_order",
        steps,
        stride,
        n_grid=n_grid,
        record_tv=record_tv,
        success_tol=success_tol,
        collapse_tol=collapse_tol,
        width_tol=width_tol,
        grad_tol=grad_tol,
    )
    if not isinstance(disc0, dict) or set(disc0) != {"l", "r"}:
        got = sorted(disc0) if isinstance(disc0, dict) else type(disc0).__name__
        raise InputError(f"first_order: `disc0` must be a dict {{'l': ..., 'r': ...}}, got {got}")
    variant = _variant("first_order", eta, eta_disc, order, disc_steps, keep_ordered, full_order)
    mu0 = jnp.asarray(mu0, dtype=float)
    l0, r0 = (jnp.asarray(disc0[k], dtype=mu0.dtype) for k in ("l", "r"))
    return _first_order(mu0, l0, r0, jnp.asarray(mu_star, dtype=float), variant, opt)


@eqx.filter_jit
def _first_order(mu0, l0, r0, mu_star, variant: _Variant, opt: _RunOptions):
    """`first_order`'s compiled core: the order and the projections are traced booleans in
    `variant`, so one compilation serves every variant."""
    eta, eta_d = variant.eta, variant.eta_disc
    alternating, keep_ordered, full_order = (
        variant.alternating,
        variant.keep_ordered,
        variant.full_order,
    )
    grads = gradients

    def disc_step(_, lr, mu):
        l, r = lr
        _, gl, gr = grads(mu, l, r, mu_star)
        l, r = l + eta_d * gl, r + eta_d * gr
        lo, ro = _order(l, r)
        lf, rf = _order_full(l, r)
        lo, ro = jnp.where(full_order, lf, lo), jnp.where(full_order, rf, ro)
        return (
            jnp.where(keep_ordered | full_order, lo, l),
            jnp.where(keep_ordered | full_order, ro, r),
        )

    def step(state, _):
        mu, l, r = state
        # simultaneous: the generator moves with the last discriminator step
        l1, r1 = jax.lax.fori_loop(
            0, variant.disc_steps - 1, lambda i, lr: disc_step(i, lr, mu), (l, r)
        )
        g_before = grads(mu, l1, r1, mu_star)[0]
        l2, r2 = disc_step(0, (l1, r1), mu)
        g = jnp.where(alternating, grads(mu, l2, r2, mu_star)[0], g_before)
        return (mu - eta * g, l2, r2), None

    def chunk(state, _):
        state, _ = jax.lax.scan(step, state, None, length=opt.stride)
        mu, l, r = state
        return state, (mu, l, r, jnp.linalg.norm(grads(mu, l, r, mu_star)[0]))

    _, (mus, ls, rs, gns) = jax.lax.scan(chunk, (mu0, l0, r0), None, length=opt.steps // opt.stride)
    mus, ls, rs = _stack0(mu0, mus), _stack0(l0, ls), _stack0(r0, rs)
    gns = _stack0(jnp.linalg.norm(grads(mu0, l0, r0, mu_star)[0]), gns)
    if opt.record_tv:
        tvs = jax.vmap(lambda m: tv(m, mu_star, n_grid=opt.n_grid))(mus)
    else:
        tvs = jnp.full(mus.shape[:1], jnp.nan, mus.dtype)
    run = Run(
        steps=jnp.arange(0, opt.steps + 1, opt.stride),
        mu=mus,
        l=ls,
        r=rs,
        tv=tvs,
        grad_norm=gns,
        success=jnp.asarray(False),
        result=Result.oscillation,
    )
    return _judged(run, mu_star, opt)


# -- the grid of initial means -------------------------------------------------------------


class Grid(eqx.Module):
    """Result of `grid` (cells (i, j) have initial $(μ_1, μ_2) = $ `(values[i], values[j])`).

    - `values` (n,); `offdiag` (n, n) booleans (the diagonal $μ_1 = μ_2$ is excluded);
    - `optimal`: a `Run` batched over (n, n); `first_order`: a `Run` batched over (n, n, R);
    - `optimal_success` (n, n) and `first_order_success` (n, n): per-cell success fractions
      (NaN on the diagonal); `success_fraction(which)` the overall off-diagonal fraction.
    """

    values: jax.Array
    offdiag: jax.Array
    optimal: Run
    first_order: Run

    @property
    def optimal_success(self):
        return jnp.where(self.offdiag, self.optimal.success.astype(float), jnp.nan)

    @property
    def first_order_success(self):
        return jnp.where(self.offdiag, jnp.mean(self.first_order.success, axis=-1), jnp.nan)

    def success_fraction(self, which="first_order"):
        cells = self.first_order_success if which == "first_order" else self.optimal_success
        return jnp.nanmean(cells)


class _GridOptions(eqx.Module):
    """What `grid` hands to its compiled core besides μ*, the key and the variant."""

    lim: jax.Array
    low: jax.Array
    high: jax.Array
    optimal: _RunOptions
    first_order: _RunOptions
    n: int = eqx.field(static=True)
    repeats: int = eqx.field(static=True)
    alternating: bool = eqx.field(static=True)


def grid(
    mu_star,
    key,
    *,
    n=10,
    lim=1.0,
    repeats=10,
    eta=0.1,
    steps=1000,
    optimal_steps=None,
    stride=None,
    order="simultaneous",
    disc_steps=1,
    keep_ordered=True,
    low=-2.0,
    high=2.0,
    record_tv=False,
    **tols,
):
    r"""Both dynamics from every initial $(μ_1, μ_2)$ of an `n`×`n` grid of
    $[-$`lim`$, $`lim`$]^2$, with `repeats` random discriminator initialisations
    (`random_disc(key, low, high)`) per cell for the first-order dynamics — all in one
    vmapped call.

    **Arguments:** `mu_star` (2,); `key` a PRNG key; `n`, `repeats` (static ints); `lim`,
    `low`, `high` (array leaves); `eta`; `steps` first-order generator steps;
    `optimal_steps` (default `steps`); `stride` (default `steps // 10`, also used for the
    optimal run when it divides `optimal_steps`); `order` a static string here (each order
    compiles its own grid); `disc_steps`, `keep_ordered`, `record_tv` as in `first_order`;
    `**tols` the `Result` thresholds.

    **Returns:** a `Grid`.

    ```python
    g = gdgan.li_madry.grid(jnp.array([-0.5, 0.5]), jax.random.PRNGKey(0), n=4, repeats=2)
    g.optimal_success, g.first_order_success
    ```
    """
    optimal_steps = steps if optimal_steps is None else optimal_steps
    stride = max(steps // 10, 1) if stride is None else stride
    fo = _run_options("grid", steps, stride, record_tv=record_tv, **{"n_grid": 512, **tols})
    if not (isinstance(order, str) and order in ORDERS):
        raise InputError(f"grid: `order` must be one of {list(ORDERS)}, got {order!r}")
    variant = _variant("grid", eta, None, False, disc_steps, keep_ordered, False)
    optimal_steps = check_int(optimal_steps, "grid", "optimal_steps")
    ostride = fo.stride if optimal_steps % fo.stride == 0 else optimal_steps
    opt = _GridOptions(
        jnp.asarray(lim, dtype=float),
        jnp.asarray(low, dtype=float),
        jnp.asarray(high, dtype=float),
        _run_options("grid", optimal_steps, ostride, **{"n_grid": 1024, **tols}),
        fo,
        n,
        repeats,
        order == "alternating",
    )
    return _grid(jnp.asarray(mu_star, dtype=float), key, variant, opt)


@eqx.filter_jit
def _grid(mu_star, key, variant: _Variant, opt: _GridOptions):
    n, repeats = opt.n, opt.repeats
    # the order is static here: each order compiles its own grid, with the flag a constant
    variant = eqx.tree_at(lambda v: v.alternating, variant, jnp.asarray(opt.alternating))
    values = jnp.linspace(-opt.lim, opt.lim, n)
    m1, m2 = jnp.meshgrid(values, values, indexing="ij")
    mu0 = jnp.stack([m1, m2], axis=-1)  # (n, n, 2)
    keys = jax.random.split(key, n * n * repeats).reshape(n, n, repeats, -1)
    disc0 = jax.vmap(jax.vmap(jax.vmap(lambda k: random_disc(k, opt.low, opt.high))))(keys)

    def optimal_run(m):
        return _optimal(m, mu_star, variant.eta, opt.optimal)

    def first_order_run(m, d):
        return _first_order(m, d["l"], d["r"], mu_star, variant, opt.first_order)

    opt_runs = jax.vmap(jax.vmap(optimal_run))(mu0)
    fo_runs = jax.vmap(
        jax.vmap(jax.vmap(first_order_run, in_axes=(None, 0)), in_axes=(0, 0)), in_axes=(0, 0)
    )(mu0, disc0)
    return Grid(
        values=values, offdiag=~jnp.eye(n, dtype=bool), optimal=opt_runs, first_order=fo_runs
    )


# -- continuous time -----------------------------------------------------------------------


def first_order_field(mu_star) -> VectorField:
    r"""The continuous-time first-order dynamics $\dot μ = -\nabla_μ L$, $\dot l =
    \nabla_l L$, $\dot r = \nabla_r L$: `gdgan.vector_field` of the `ValueGame` of
    `TwoGaussiansValue(mu_star)` (the same field as `gdgan.systems.two_gaussians`), on the
    state `{"disc": {"l", "r"}, "gen": {"mu"}}`.

    ```python
    f = gdgan.li_madry.first_order_field(jnp.array([-0.5, 0.5]))
    gdgan.simulate(f, y0, 100.0, throw=False)
    ```
    """
    return vector_field(ValueGame(TwoGaussiansValue(jnp.asarray(mu_star, dtype=float))))


class OptimalField(eqx.Module):
    r"""The optimal-discriminator flow $\dot μ = -\nabla_μ L(μ, l^*(μ), r^*(μ))$ (the
    subgradient flow of $\mathrm{TV}$) as `field(t, y, args)` on the state
    `{"disc": {"l", "r"}, "gen": {"mu"}}`. The discriminator is recomputed from μ at every
    evaluation, so `y["disc"]` is ignored and carried along with zero derivative: the saved
    `disc` is the initial one; call `best_response` on saved means for the discriminator in
    use. The field does not vanish at μ* (TV is cone-shaped there) and adaptive solvers
    chatter around it; with `tv_tol > 0` the field is zero wherever
    $\mathrm{TV} \le$ `tv_tol`, so `gdgan.simulate`'s converged event stops the solve when
    the flow first reaches $\mathrm{TV} \le$ `tv_tol` (the theorem's "TV ≤ δ").
    """

    mu_star: jax.Array
    tv_tol: jax.Array
    n_grid: int = eqx.field(static=True, default=1024)

    def __call__(self, t, y, args=None):
        check_state(y)
        mu = y["gen"]["mu"]
        l, r = best_response(mu, self.mu_star, n_grid=self.n_grid)
        grad = gradients(mu, l, r, self.mu_star)[0]
        done = objective(mu, l, r, self.mu_star) - 1.0 <= self.tv_tol
        zero = jax.tree_util.tree_map(jnp.zeros_like, y["disc"])
        return {"disc": zero, "gen": {"mu": jnp.where(done, 0.0, -grad)}}


def optimal_field(mu_star, *, tv_tol=0.0, n_grid=1024) -> OptimalField:
    """The optimal-discriminator flow as a field for `gdgan.simulate` (see `OptimalField`).

    **Arguments:** `mu_star` (2,); `tv_tol` (array leaf) the TV at which the flow stops
    (0: never); `n_grid` for `best_response`.

    ```python
    f = gdgan.li_madry.optimal_field(jnp.array([-0.5, 0.5]), tv_tol=1e-3)
    y0 = gdgan.li_madry.state(jnp.array([-1.0, 0.8]))
    out = gdgan.simulate(f, y0, 50.0, rtol=1e-6, atol=1e-6)   # stops when TV <= 1e-3
    ```
    """
    return OptimalField(jnp.asarray(mu_star, dtype=float), jnp.asarray(tv_tol, dtype=float), n_grid)


def state(mu, disc=None, mu_star=None):
    """The state `{"disc": {"l", "r"}, "gen": {"mu"}}` for the fields: `disc` given, or the
    best response to `mu` when `mu_star` is given, or empty intervals at `BIG`.

    ```python
    gdgan.li_madry.state(jnp.array([-1.0, 0.8]), mu_star=jnp.array([-0.5, 0.5]))
    ```
    """
    mu = jnp.asarray(mu, dtype=float)
    if disc is None:
        if mu_star is None:
            l = r = jnp.full((2,), BIG, mu.dtype)
        else:
            l, r = best_response(mu, mu_star)
        disc = {"l": l, "r": r}
    return {
        "disc": {"l": jnp.asarray(disc["l"], mu.dtype), "r": jnp.asarray(disc["r"], mu.dtype)},
        "gen": {"mu": mu},
    }
