r"""Modified equations of discrete training: the flow that discrete steps really follow.

Backward error analysis (Hairer, Lubich & Wanner, *Geometric Numerical Integration*, ch. IX)
finds, for a one-step rule $θ_{k+1} = Φ_α(θ_k)$ of step $α$, a field $\tilde h$ whose exact
flow over time $α$ reproduces $Φ_α$ to a higher order in $α$ than the plain field $h$ does.
Write the step as

$$Φ_α(θ) = θ + αh(θ) + α^2 c(θ) + O(α^3)$$

and seek $\tilde h = h + α f_1$. Its flow over time $α$ is
$θ + α\tilde h + \tfrac{α^2}{2}\tilde h'\tilde h + O(α^3) = θ + αh + α^2(f_1 + \tfrac12 Jh)
+ O(α^3)$ with $J = \partial h/\partial θ$, so matching the two gives

$$f_1 = c - \tfrac12 Jh .$$

Over a fixed time $T$ ($T/α$ steps) the iterates then stay within $O(α^2)$ of the flow of
$\tilde h$, but only within $O(α)$ of the flow of $h$.

Split $θ = (θ_D, θ_G)$ and $J$ into blocks $J_{DD}, J_{DG}, J_{GD}, J_{GG}$, and write
$u = J(h_D, 0) = (J_{DD}h_D, J_{GD}h_D)$, $v = J(0, h_G) = (J_{DG}h_G, J_{GG}h_G)$, so
$Jh = u + v$. The second-order term $c$ of each rule of `gdgan.train` (plain SGD steps of
size α; "alternating" = one discriminator step, then one generator step that sees the new
discriminator, as `gdgan.train(..., order="alternating")` does) is:

| rule | $c_D$ | $c_G$ | $f_{1,D}$ | $f_{1,G}$ |
|---|---|---|---|---|
| gd, simultaneous | $0$ | $0$ | $-\tfrac12(u_D + v_D)$ | $-\tfrac12(u_G + v_G)$ |
| gd, alternating | $0$ | $u_G$ | $-\tfrac12(u_D + v_D)$ | $\tfrac12 u_G - \tfrac12 v_G$ |
| optimistic, simultaneous | $u_D + v_D$ | $u_G + v_G$ | $\tfrac12(u_D + v_D)$ | $\tfrac12(u_G + v_G)$ |
| optimistic, alternating | $u_D + v_D$ | $2u_G + v_G$ | $\tfrac12(u_D + v_D)$ | $\tfrac32 u_G + \tfrac12 v_G$ |
| extragradient, simultaneous | $u_D + v_D$ | $u_G + v_G$ | $\tfrac12(u_D + v_D)$ | $\tfrac12(u_G + v_G)$ |
| extragradient, alternating | $u_D$ | $u_G + v_G$ | $\tfrac12 u_D - \tfrac12 v_D$ | $\tfrac12(u_G + v_G)$ |

Derivations of $c$ (Taylor expansion of each step to $O(α^2)$):

- **gd** ($θ_{k+1} = θ_k + αh(θ_k)$): $c = 0$, hence $\tilde h = h - \tfrac{α}{2}Jh$
  (Rosca, Wu, Dherin & Barrett, "Discretization drift in two-player games", ICML 2021,
  Thm 3.1). *Alternating*: the generator's step uses
  $h_G(θ_D + αh_D, θ_G) = h_G + αJ_{GD}h_D + O(α^2)$, so $c_G = J_{GD}h_D$ and the
  generator's correction gains the cross term:
  $\tilde h_G = h_G - \tfrac{α}{2}(J_{GG}h_G - J_{GD}h_D)$, while
  $\tilde h_D = h_D - \tfrac{α}{2}(J_{DD}h_D + J_{DG}h_G)$ (Rosca et al., Thm 3.2 with
  equal step sizes, one step each).
- **optimistic** (OGDA, `optax.optimistic_gradient_descent(α)` with its default
  $a = b = 1$: $θ_{k+1} = θ_k + α(2h(θ_k) - h(θ_{k-1}))$, a two-step method): on the
  modified flow $θ_{k-1} = θ_k - αh + O(α^2)$, so $h(θ_{k-1}) = h - αJh + O(α^2)$ and
  $c = Jh$. *Alternating*: the discriminator's previous gradient was taken at
  $(θ_{D,k-1}, θ_{G,k-1})$ ($c_D = u_D + v_D$); the generator's current one at
  $(θ_{D,k+1}, θ_{G,k})$ and its previous one at $(θ_{D,k}, θ_{G,k-1})$, so
  $c_G = 2J_{GD}h_D + J_{GG}h_G$.
- **extragradient** (`gdgan.extragradient(α)`: $θ_{k+1} = θ_k + αh(θ_k + αh(θ_k))$):
  $c = Jh$. *Alternating*: each player looks ahead along its own gradient only, with the
  other player fixed, so $c_D = J_{DD}h_D$ and (at the new discriminator)
  $c_G = J_{GD}h_D + J_{GG}h_G$.

In Lu's notation (Lu 2020, "An $O(s^r)$-resolution ODE framework for understanding
discrete-time algorithms and applications to the linear convergence of minimax problems"),
with $F = -h$ and $s = α$, the simultaneous rows read
$\dot z = -F(z) - \tfrac{s}{2}\nabla F(z)F(z)$ (gradient descent–ascent) and
$\dot z = -F(z) + \tfrac{s}{2}\nabla F(z)F(z)$ (OGDA and extragradient share their
$O(s)$-resolution ODE). At a centre such as the WGAN Dirac-GAN ($J$ with eigenvalues
$±iω$, $J^2 = -ω^2 I$) the modified Jacobian $J \mp \tfrac{α}{2}J^2$ has eigenvalues
$±\tfrac{α}{2}ω^2 ± iω$: simultaneous gd spirals out, optimistic and extragradient spiral in,
and alternating gd circles (real part $0$ at first order).

Start-up: optax ≥ 0.2.4 takes the first optimistic step with $h(θ_{-1}) := h(θ_0)$ (a plain
gd step), which differs from the modified flow by $O(α^2)$ once, so the global error stays
$O(α^2)$ from $θ_0$. (Earlier optax versions used $h(θ_{-1}) = 0$, a first step of $2αh$
and an $O(α)$ start-up error; there, start the modified flow from $θ_1$.)

Only Jacobian–vector products are used (two `jax.linearize` applications per call; one for
the simultaneous rules, where only $Jh$ appears), never a dense $J$. The time argument is
passed through unchanged: the corrections differentiate in $θ$ only, which is exact for
autonomous fields (every gdgan field; `gdgan.train` evaluates fields at $t = 0$).
`discrete_iterates` runs `gdgan.train`'s own step on any field, for comparisons.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ._checks import InputError, InputTypeError, check_int, check_number
from ._game import check_state
from ._regularizers import Regularizer
from ._train import _step, extragradient
from ._tree import as_arrays

ORDERS = ("simultaneous", "alternating")
METHODS = ("gd", "optimistic", "extragradient")

# f_1 = (a_D u_D + b_D v_D, a_G u_G + b_G v_G), see the module docstring's table.
_COEFFICIENTS = {
    ("simultaneous", "gd"): (-0.5, -0.5, -0.5, -0.5),
    ("alternating", "gd"): (-0.5, -0.5, 0.5, -0.5),
    ("simultaneous", "optimistic"): (0.5, 0.5, 0.5, 0.5),
    ("alternating", "optimistic"): (0.5, 0.5, 1.5, 0.5),
    ("simultaneous", "extragradient"): (0.5, 0.5, 0.5, 0.5),
    ("alternating", "extragradient"): (0.5, -0.5, 0.5, 0.5),
}


def _check_choices(owner, order, method):
    if not isinstance(order, str) or order not in ORDERS:
        raise InputError(f"{owner}: order: expected one of {list(ORDERS)}, got {order!r}")
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"{owner}: method: expected one of {list(METHODS)}, got {method!r}")


def _check_lr(owner, lr):
    """`lr` checked by `check_number` (positive, finite, scalar), as a floating scalar array
    (a floating jax array keeps its dtype)."""
    checked = check_number(lr, owner, "lr")
    if isinstance(lr, jax.Array) and jnp.issubdtype(lr.dtype, jnp.floating):
        return checked if isinstance(lr, jax.core.Tracer) else lr
    return jnp.asarray(checked, dtype=float)


def _scale(c, tree):
    return jax.tree_util.tree_map(lambda x: c * x, tree)


def _zeros(tree):
    return jax.tree_util.tree_map(jnp.zeros_like, tree)


def first_order_term(h, p, order, method):
    r"""$(h(p), f_1(p))$ for the rule `(order, method)`: the modified field is $h + αf_1$.

    `h` maps a `{"disc": ..., "gen": ...}` pytree of inexact arrays to one of the same
    structure. Uses one (simultaneous) or two (alternating) Jacobian–vector products."""
    a_d, b_d, a_g, b_g = _COEFFICIENTS[(order, method)]
    hv, lin = jax.linearize(h, p)
    hv = jax.tree_util.tree_map(lambda t, x: t.astype(x.dtype), hv, p)
    if a_d == b_d and a_g == b_g:
        jh = lin(hv)
        f1 = {"disc": _scale(a_d, jh["disc"]), "gen": _scale(a_g, jh["gen"])}
        return hv, f1
    u = lin({"disc": hv["disc"], "gen": _zeros(hv["gen"])})
    v = lin({"disc": _zeros(hv["disc"]), "gen": hv["gen"]})
    comb = lambda a, b, x, y: jax.tree_util.tree_map(lambda s, r: a * s + b * r, x, y)  # noqa: E731
    f1 = {"disc": comb(a_d, b_d, u["disc"], v["disc"]), "gen": comb(a_g, b_g, u["gen"], v["gen"])}
    return hv, f1


def _params_fn(field, t, y, args):
    """`(params, h)`: the inexact leaves of `y` and the field as a function of them."""
    params, static = eqx.partition(y, eqx.is_inexact_array)

    def h(p):
        return eqx.filter(field(t, eqx.combine(p, static), args), eqx.is_inexact_array)

    return params, h


class ModifiedField(eqx.Module):
    r"""The modified field $h + α f_1$ of `gdgan.modified_field`, callable as
    `field(t, y, args)`. `lr` is an array leaf (so `jax.vmap` over it is a sweep); `order`
    and `method` are static."""

    field: Callable
    lr: jax.Array
    order: str = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __call__(self, t, y, args=None):
        check_state(y)
        params, h = _params_fn(self.field, t, y, args)
        hv, f1 = first_order_term(h, params, self.order, self.method)
        return jax.tree_util.tree_map(lambda a, b: a + self.lr * b, hv, f1)


def modified_field(field, lr, *, order="simultaneous", method="gd") -> ModifiedField:
    r"""The modified field of discrete training: the flow whose exact solution follows the
    iterates of `gdgan.train` with step `lr` to one order higher in α than `field`'s.

    For gradient steps of size α on $h$ the modified field is $\tilde h = h + αf_1$ with
    $f_1 = c - \tfrac12 Jh$, $c$ the $α^2$-term of one step. Simultaneous gd:
    $\tilde h = h - \tfrac{α}{2}Jh$; alternating gd (discriminator first, the generator
    sees its new parameters):
    $\tilde h_D = h_D - \tfrac{α}{2}(J_{DD}h_D + J_{DG}h_G)$,
    $\tilde h_G = h_G - \tfrac{α}{2}(J_{GG}h_G - J_{GD}h_D)$
    (Rosca, Wu, Dherin & Barrett, "Discretization drift in two-player games", ICML 2021);
    optimistic and extragradient (simultaneous): $\tilde h = h + \tfrac{α}{2}Jh$
    (Lu 2020, "An $O(s^r)$-resolution ODE framework"); the alternating variants and every
    derivation are in the module docstring of `gdgan._modified`. Over a fixed time $T$ the
    iterates stay within $O(α^2)$ of the flow of $\tilde h$ and within $O(α)$ of the flow of
    $h$. Only Jacobian–vector products of `field` are evaluated (never a dense Jacobian), so
    it works for any field: regularised ones, neural networks.

    **Arguments:**

    - `field`: `field(t, y, args)` with `y = {"disc": ..., "gen": ...}` (e.g.
      `gdgan.vector_field(game, *regularizers)`), treated as autonomous.
    - `lr`: the step size α (> 0, finite; a scalar, may be traced).
    - `order`: `"simultaneous"` or `"alternating"` (one discriminator step, then one
      generator step, as `gdgan.train(..., order="alternating")`).
    - `method`: `"gd"` (`optax.sgd(lr)`), `"optimistic"`
      (`optax.optimistic_gradient_descent(lr)`) or `"extragradient"`
      (`gdgan.extragradient(lr)`).

    **Returns:** a `ModifiedField`, callable as `field(t, y, args)` (usable with
    `gdgan.simulate`, `gdgan.jacobian`, `diffrax.ODETerm`).

    ```python
    s = gdgan.systems.get("dirac", loss="wgan")
    mf = gdgan.modified_field(s.field(), 0.1)   # simultaneous gd
    gdgan.stability(mf, s.equilibrium).eigenvalues   # 0.05 ± 1i: the iterates spiral out
    ```
    """
    if not callable(field):
        raise InputTypeError(
            f"modified_field: field: expected a callable field(t, y, args), got {field!r}"
        )
    _check_choices("modified_field", order, method)
    return ModifiedField(field, _check_lr("modified_field", lr), order, method)


class DriftCorrection(Regularizer):
    r"""Explicit drift cancellation (Rosca, Wu, Dherin & Barrett, "Discretization drift in
    two-player games", ICML 2021, §5): a field-stage regularizer that subtracts the
    first-order drift of discrete training with step `lr`,

    $$h' = h - \mathrm{lr}\, f_1[h] ,$$

    with $f_1$ the first-order term of `gdgan.modified_field` for the same `order` and
    `method` (simultaneous gd: $h' = h + \tfrac{\mathrm{lr}}{2}Jh$). Training on $h'$ with
    step `lr` then follows the modified field $h' + \mathrm{lr}\,f_1[h'] = h + O(\mathrm{lr}^2)$:
    the iterates track the flow of the *unregularised* $h$ to $O(\mathrm{lr}^2)$ instead of
    $O(\mathrm{lr})$. It cancels both the self and the interaction terms of the drift (Rosca
    et al. study each separately); it vanishes at every equilibrium. Put it last among the
    field-stage regularizers so that it corrects the field they produce.

    **Arguments:** `lr` (the training step, > 0), `order` (`"simultaneous"` |
    `"alternating"`), `method` (`"gd"` | `"optimistic"` | `"extragradient"`), as in
    `gdgan.modified_field`.

    ```python
    out = gdgan.train(game, y0, optax.sgd(0.05), 400,
                      regularizers=[gdgan.DriftCorrection(0.05)])
    ```
    """

    lr: jax.Array
    order: str = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(self, lr, *, order="simultaneous", method="gd"):
        _check_choices("DriftCorrection", order, method)
        self.lr = _check_lr("DriftCorrection", lr)
        self.order = order
        self.method = method

    def field(self, h):
        def new(p):
            hv, f1 = first_order_term(h, p, self.order, self.method)
            return jax.tree_util.tree_map(lambda a, b: a - self.lr * b, hv, f1)

        return new


def _optimizer(method, lr):
    if method == "gd":
        return optax.sgd(lr)
    if method == "optimistic":
        return optax.optimistic_gradient_descent(lr)
    return extragradient(lr)


def discrete_iterates(field, y0, lr, steps, *, order="simultaneous", method="gd"):
    r"""The iterates $θ_0, …, θ_{\mathrm{steps}}$ of discrete training on `field` with step
    `lr`: exactly the step of `gdgan.train` (the same code) with `optax.sgd(lr)`,
    `optax.optimistic_gradient_descent(lr)` or `gdgan.extragradient(lr)`, but on any field
    rather than a game. These are what `modified_field` approximates.

    **Arguments:** `field`, `y0` (a state), `lr` (> 0), `steps` (a positive integer),
    `order`, `method` as in `gdgan.modified_field`.

    **Returns:** the states with a leading axis of length `steps + 1` (non-array leaves of
    `y0` are kept as they are, without the axis).

    ```python
    ys = discrete_iterates(s.field(), s.init, 0.1, 50, order="alternating")
    ```
    """
    if not callable(field):
        raise InputTypeError(
            f"discrete_iterates: field: expected a callable field(t, y, args), got {field!r}"
        )
    _check_choices("discrete_iterates", order, method)
    lr = _check_lr("discrete_iterates", lr)
    steps = check_int(steps, "discrete_iterates", "steps")
    y0 = as_arrays(check_state(y0, "y0"))
    params, static = eqx.partition(y0, eqx.is_inexact_array)
    hist = _iterate(field, params, static, lr, steps, order, method)
    return eqx.combine(hist, static)


@eqx.filter_jit
def _iterate(field, params, static, lr, steps, order, method):
    opt = _optimizer(method, lr)
    opts = {"disc": opt, "gen": opt}

    def grad_fn(p, k):
        h = eqx.filter(field(0.0, eqx.combine(p, static), None), eqx.is_inexact_array)
        return jax.tree_util.tree_map(jnp.negative, h)

    states = {p: opts[p].init(params[p]) for p in ("disc", "gen")}
    key = jax.random.PRNGKey(0)

    def body(carry, _):
        p, s = carry
        p, s = _step(grad_fn, opts, p, s, key, order, 1)
        return (p, s), p

    _, hist = jax.lax.scan(body, (params, states), None, length=steps)
    return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), params, hist)
