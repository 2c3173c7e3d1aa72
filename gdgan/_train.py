r"""Discrete-time training with optax, and the stability of one update step.

`train` is the discrete counterpart of `simulate`: each player takes optax steps along its
part of $-h$ (the gradient of its own, regularised loss), simultaneously or alternately,
on the game's deterministic expectation or on fresh minibatches. `update_jacobian` and
`discrete_stability` linearise one such step at an equilibrium (docs, Theory §5).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Complex, Float

from ._analysis import Verdict, enum_name, verdict_from_max_real
from ._checks import InputError, InputTypeError, check_finite_tree, check_positive, float_array
from ._field import vector_field
from ._game import STATE_KEYS, Game, ValueGame, check_state
from ._simulate import (
    Outcome,
    amplitude_ratio_of,
    as_arrays,
    classify,
    outcome_name,
    tree_distance,
    tree_norm,
)
from ._tree import ravel_arrays, split_ravel

ORDERS = ("simultaneous", "alternating")


# -- extragradient ------------------------------------------------------------------------
class Extragradient(eqx.Module):
    r"""Extragradient (Korpelevich 1976) around an optax transformation `inner`: each step
    first takes a look-ahead step with `inner` from the current point (the optimizer state
    is not advanced), evaluates the gradient there, and applies *that* gradient with `inner`
    from the current point:
    $θ_{k+½} = θ_k + u(g(θ_k))$, $θ_{k+1} = θ_k + u(g(θ_{k+½}))$.
    For simultaneous play both players look ahead together. Build it with
    `gdgan.extragradient`; `init` delegates to `inner`."""

    inner: optax.GradientTransformation

    def init(self, params):
        return self.inner.init(params)

    def update(self, updates, state, params=None):
        return self.inner.update(updates, state, params)


def extragradient(learning_rate=None, *, inner=None) -> Extragradient:
    r"""Extragradient steps: `inner` (default `optax.sgd(learning_rate)`) applied at the
    gradient of a look-ahead point (see `Extragradient`). With SGD of step α the update is
    $θ \leftarrow θ + α h(θ + α h(θ))$, whose Jacobian at an equilibrium is
    $I + αJ + α^2J^2$.

    **Arguments:** `learning_rate` (float), or `inner`: any optax transformation.

    **Returns:** an `Extragradient`, accepted by `gdgan.train` and `gdgan.update_jacobian`
    wherever an optax optimizer is.

    ```python
    out = gdgan.train(game, y0, gdgan.extragradient(0.05), 2000)
    ```
    """
    if inner is None:
        if learning_rate is None:
            raise InputError("extragradient: pass `learning_rate` or `inner`")
        inner = optax.sgd(learning_rate)
    elif learning_rate is not None:
        raise InputError("extragradient: pass `learning_rate` or `inner`, not both")
    if not isinstance(inner, optax.GradientTransformation):
        raise InputTypeError(
            f"extragradient: `inner` must be an optax transformation, got {inner!r}"
        )
    return Extragradient(inner)


def _players(optimizer):
    """`{"disc": opt, "gen": opt}` from one optimizer or a dict of them (validated)."""
    if isinstance(optimizer, dict):
        if set(optimizer) != set(STATE_KEYS):
            raise InputError(
                f"optimizer: a dict must have keys 'disc' and 'gen', got {sorted(optimizer)}"
            )
        opts = dict(optimizer)
    else:
        opts = {"disc": optimizer, "gen": optimizer}
    for p, opt in opts.items():
        if not isinstance(opt, (optax.GradientTransformation, Extragradient)):
            raise InputTypeError(
                f"optimizer: expected an optax GradientTransformation, gdgan.extragradient(...)"
                f" or a dict {{'disc': ..., 'gen': ...}} of them, got {opt!r} for {p!r}"
            )
    eg = [isinstance(o, Extragradient) for o in opts.values()]
    if any(eg) and not all(eg):
        raise InputError("optimizer: extragradient must be used by both players or by neither")
    return opts


# -- one step -----------------------------------------------------------------------------
def _add(p, u):
    return jax.tree_util.tree_map(lambda a, b: a + b, p, u)


def _step(grad_fn, opts, y, states, key, order, disc_steps, first="disc", project=None):
    """One iteration of the update rule. `grad_fn(y, key) -> {"disc": g_D, "gen": g_G}`
    (gradients to descend, i.e. -h); `first`: the player that moves first in alternating
    steps; `project(player, params)`: applied after each of that player's updates (weight
    clipping). Returns `(y, states)`."""
    eg = isinstance(opts["disc"], Extragradient)
    project = project or (lambda p, x: x)

    def apply(p, g, y_, state):
        u, state = opts[p].update(g, state, y_[p])
        return project(p, _add(y_[p], u)), state

    if order == "simultaneous":
        k1, k2 = jax.random.split(key)
        g = grad_fn(y, k1)
        if eg:
            y_half = {p: apply(p, g[p], y, states[p])[0] for p in STATE_KEYS}
            g = grad_fn(y_half, k2)
        new = {p: apply(p, g[p], y, states[p]) for p in STATE_KEYS}
        return {p: new[p][0] for p in STATE_KEYS}, {p: new[p][1] for p in STATE_KEYS}

    def player_step(p, y_, states_, k):
        k1, k2 = jax.random.split(k)
        g = grad_fn(y_, k1)[p]
        if eg:
            y_half = {**y_, p: apply(p, g, y_, states_[p])[0]}
            g = grad_fn(y_half, k2)[p]
        new_p, new_s = apply(p, g, y_, states_[p])
        return {**y_, p: new_p}, {**states_, p: new_s}

    keys = jax.random.split(key, disc_steps + 1)
    if first == "gen":
        y, states = player_step("gen", y, states, keys[-1])
    for i in range(disc_steps):
        y, states = player_step("disc", y, states, keys[i])
    if first == "gen":
        return y, states
    return player_step("gen", y, states, keys[-1])


def _field_on(game, regularizers, batch, key):
    """The field on the deterministic expectation, or on a fresh minibatch of size `batch`."""
    if batch is None:
        return vector_field(game, *regularizers)
    kx, kz = jax.random.split(key)
    g = game.with_samples(game.data.sample(kx, batch), game.latent.sample(kz, batch))
    return vector_field(g, *regularizers)


class _Params(eqx.Module):
    """Helpers on the inexact leaves of a state (other leaves held fixed)."""

    static_leaves: tuple = eqx.field(static=True)
    static_def: Any = eqx.field(static=True)

    def full(self, p):
        return eqx.combine(p, jax.tree_util.tree_unflatten(self.static_def, self.static_leaves))


def _split_state(y):
    params, static = eqx.partition(y, eqx.is_inexact_array)
    leaves, tdef = jax.tree_util.tree_flatten(static)
    return params, _Params(tuple(leaves), tdef)


def _clip(tree, c):
    """Weight clipping: every inexact leaf projected onto $[-c, c]$."""
    return jax.tree_util.tree_map(
        lambda a: jnp.clip(a, -c, c) if eqx.is_inexact_array(a) else a, tree
    )


# -- train ----------------------------------------------------------------------------------
class TrainResult(eqx.Module):
    """Result of `gdgan.train`.

    - `ts`: iteration numbers of the saved states (`0, stride, 2·stride, …, steps`);
      `ys`: the states there (the state's structure with a leading axis);
    - `grad_norm_disc`, `grad_norm_gen`, `value`: per iteration, at the iterate *before* the
      step (on that step's minibatch): $\\|\\nabla_{θ_D} L_D\\|$, $\\|\\nabla_{θ_G} L_G\\|$
      (unregularised; $= \\|\\nabla_{θ_D} V\\|, \\|\\nabla_{θ_G} V\\|$ for zero-sum games) and
      $V$ — what the authors' code logs;
    - `y_final`, `opt_state` (`{"disc": ..., "gen": ...}`) after the last step;
    - `outcome` (a `gdgan.Outcome`: `converged` when $\\|h(y_{final})\\| <$ `converge_tol` on
      the deterministic expectation, `diverged` when non-finite or beyond `diverge_norm`,
      else `cycling` / `undecided` by the amplitude test of `gdgan.simulate` applied to the
      saved distances to `y_star`, or to the logged gradient norms), `residual`, `distance`.
    """

    ts: jax.Array
    ys: Any
    grad_norm_disc: jax.Array
    grad_norm_gen: jax.Array
    value: jax.Array
    y_final: Any
    opt_state: Any
    outcome: Outcome
    residual: jax.Array
    distance: jax.Array

    @property
    def outcome_name(self):
        return outcome_name(self.outcome)


_BAR: list = []


def _tick(n):
    if _BAR:
        _BAR[-1].update(int(n))


def train(
    game,
    y0,
    optimizer,
    steps,
    *,
    order="simultaneous",
    disc_steps=1,
    regularizers=(),
    batch=None,
    key=None,
    stride=1,
    y_star=None,
    converge_tol=1e-8,
    diverge_norm=1e6,
    cycle_rtol=0.1,
    progress=False,
    first="disc",
    clip=None,
    opt_state=None,
) -> TrainResult:
    r"""Train both players with optax for `steps` iterations (`jax.lax.scan`, jitted).

    Each player descends its own regularised loss: the gradients handed to optax are
    $-h$ split by player, with $h$ = `gdgan.vector_field(game, *regularizers)`.
    `"simultaneous"`: both players update from the same iterate;
    `"alternating"`: `disc_steps` discriminator updates, then one generator update at the
    new discriminator (the authors' D-then-G loop). Each player has its own optimizer state.

    **Arguments:**

    - `game`: a `gdgan.Game` or `gdgan.ValueGame`; `y0`: the initial state.
    - `optimizer`: an optax `GradientTransformation` (the same rule, separate states, for
      both players), `gdgan.extragradient(lr)`, or `{"disc": opt, "gen": opt}`.
    - `steps`: iterations; `order`, `disc_steps` as above; `regularizers`: a sequence of
      gdgan regularizers.
    - `batch`: `None` uses the game's deterministic expectation; `n` draws `n` fresh data and
      latent samples for every gradient evaluation (needs `key`; without `batch` nothing
      is random and `key` defaults to `jax.random.PRNGKey(0)`, unused by gdgan's own steps).
    - `stride`: keep every `stride`-th iterate in `ys`.
    - `y_star`, `converge_tol`, `diverge_norm`, `cycle_rtol`: for the `outcome`.
    - `progress`: a tqdm bar on stderr.
    - `first`: with `order="alternating"`, which player moves first: `"disc"` (default:
      `disc_steps` discriminator updates, then the generator at the new discriminator) or
      `"gen"` (the generator first, then the discriminator at the new generator), the
      choice Mescheder et al.'s (2018) code offers.
    - `clip`: `None`, or $c > 0$: the original WGAN's weight clipping (Arjovsky et al. 2017),
      a projection of every discriminator parameter onto $[-c, c]$ after each discriminator
      update (and of the initial state). It is a discrete projection with no counterpart in
      `gdgan.vector_field`: its continuous-time limit is the projected flow on the box
      $\{|θ_D| \le c\}$ (the field with its outward normal component removed on the
      box's faces), a non-smooth system whose Jacobian is undefined on the faces, so gdgan
      offers clipping in discrete time only.
    - `opt_state`: `{"disc": ..., "gen": ...}` optimizer states to start from (e.g. a
      previous run's `opt_state`, to continue a run in chunks); default fresh states.

    **Returns:** a `TrainResult`.

    ```python
    s = gdgan.systems.get("lq", loss="wgan")
    out = gdgan.train(s.game, s.init, optax.sgd(0.01), 5000, y_star=s.equilibrium)
    out.distance   # grows: simultaneous SGD spirals out of the WGAN's centre
    ```
    """
    if not isinstance(game, (Game, ValueGame)):
        raise InputTypeError(f"game: expected a gdgan.Game or gdgan.ValueGame, got {game!r}")
    y0 = as_arrays(check_state(y0, "y0"))
    check_finite_tree(y0, "train", "y0")
    if y_star is not None:
        y_star = as_arrays(check_state(y_star, "y_star"))
    opts = _players(optimizer)
    for name, value, low in (
        ("steps", steps, 1),
        ("stride", stride, 1),
        ("disc_steps", disc_steps, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"train: `{name}` must be a positive integer, got {value!r}")
    if order not in ORDERS:
        raise InputError(f"order: expected one of {list(ORDERS)}, got {order!r}")
    if order == "simultaneous" and disc_steps != 1:
        raise InputError(
            "disc_steps: only used with order='alternating'; got "
            f"disc_steps={disc_steps} with order='simultaneous'"
        )
    if first not in STATE_KEYS:
        raise InputError(f"first: expected one of {list(STATE_KEYS)}, got {first!r}")
    if clip is not None:
        if isinstance(clip, bool) or not isinstance(clip, (int, float, np.integer, np.floating)):
            raise InputTypeError(f"clip: expected None or a positive number, got {clip!r}")
        if not clip > 0:
            raise InputError(f"clip: expected None or a positive number, got {clip!r}")
        clip = float(clip)
        y0 = {**y0, "disc": _clip(y0["disc"], clip)}
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise InputError(f"batch: expected None or a positive integer, got {batch!r}")
        if not isinstance(game, Game):
            raise InputTypeError(
                "batch: minibatches need a gdgan.Game with data and latent "
                f"distributions, got {type(game).__name__}"
            )
        if key is None:
            raise InputError("key: a jax.random key is required when `batch` is set")
    if key is None:
        key = jax.random.PRNGKey(0)
    regularizers = tuple(regularizers)
    vector_field(game, *regularizers)  # validates the regularizers
    from ._analysis import flatten

    flatten(vector_field(game, *regularizers), y0)  # structure check, one-line error
    for name, value in (
        ("converge_tol", converge_tol),
        ("diverge_norm", diverge_norm),
        ("cycle_rtol", cycle_rtol),
    ):
        check_positive(float_array(value, "train", name), "train", name)

    if progress:
        import sys

        from tqdm.auto import tqdm

        _BAR.append(tqdm(total=int(steps), file=sys.stderr, unit="step"))
    try:
        out = _train(
            game,
            y0,
            opts,
            int(steps),
            order,
            int(disc_steps),
            regularizers,
            batch,
            key,
            int(stride),
            y_star,
            jnp.asarray(converge_tol),
            jnp.asarray(diverge_norm),
            jnp.asarray(cycle_rtol),
            bool(progress),
            first,
            clip,
            opt_state,
        )
        if progress:
            jax.block_until_ready(out)
    finally:
        if progress:
            _BAR.pop().close()
    return out


@eqx.filter_jit
def _train(
    game,
    y0,
    opts,
    steps,
    order,
    disc_steps,
    regularizers,
    batch,
    key,
    stride,
    y_star,
    converge_tol,
    diverge_norm,
    cycle_rtol,
    progress,
    first="disc",
    clip=None,
    opt_state=None,
):
    params0, helper = _split_state(y0)
    project = None
    if clip is not None:
        project = lambda p, x: _clip(x, clip) if p == "disc" else x  # noqa: E731

    def h_of(field, p):
        return eqx.filter(field(0.0, helper.full(p), None), eqx.is_inexact_array)

    def grad_fn(p, k):
        h = h_of(_field_on(game, regularizers, batch, k), p)
        return jax.tree_util.tree_map(jnp.negative, h)

    def metrics(p, k):
        plain = _field_on(game, (), batch, k)
        h = h_of(plain, p)
        return tree_norm(h["disc"]), tree_norm(h["gen"]), plain.game.value(helper.full(p))

    states0 = {p: opts[p].init(params0[p]) for p in STATE_KEYS} if opt_state is None else opt_state

    def body(carry, _):
        p, states, k = carry
        k, sub = jax.random.split(k)
        # the first gradient of the step uses the first half of `sub` (see _step), so the
        # logged numbers are on that step's first minibatch
        m = metrics(p, jax.random.split(sub)[0])
        p, states = _step(grad_fn, opts, p, states, sub, order, disc_steps, first, project)
        return (p, states, k), m

    def chunk(carry, n):
        return jax.lax.scan(body, carry, None, length=n)

    def outer(carry, _):
        carry, m = chunk(carry, stride)
        if progress:
            jax.debug.callback(_tick, stride)
        return carry, (carry[0], m)

    n_full, rem = divmod(steps, stride)
    carry = (params0, states0, key)
    carry, (hist, ms) = jax.lax.scan(outer, carry, None, length=n_full)
    ms = jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), ms)
    hist = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), params0, hist)
    ts = jnp.arange(n_full + 1) * stride
    if rem:
        carry, m_rem = chunk(carry, rem)
        if progress:
            jax.debug.callback(_tick, rem)
        ms = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), ms, m_rem)
        hist = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[None]]), hist, carry[0])
        ts = jnp.concatenate([ts, jnp.array([steps])])
    p_final, states, _ = carry
    gd, gg, value = ms

    det_field = vector_field(game, *regularizers)
    residual = tree_norm(h_of(det_field, p_final))
    final_norm = tree_norm(p_final)
    diverged = ~jnp.isfinite(final_norm) | (final_norm > diverge_norm) | ~jnp.isfinite(residual)
    if y_star is not None:
        ys_star = eqx.filter(y_star, eqx.is_inexact_array)
        dists = jax.vmap(lambda q: tree_distance(q, ys_star))(hist)
        distance = tree_distance(p_final, ys_star)
        ratio = amplitude_ratio_of(ts.astype(dists.dtype), dists, 0.0, float(steps))
    else:
        distance = jnp.asarray(jnp.nan, residual.dtype)
        r = jnp.sqrt(gd**2 + gg**2)
        it = jnp.arange(steps, dtype=r.dtype)
        ratio = amplitude_ratio_of(it, r, 0.0, float(steps))
    outcome = classify(
        converged=residual < converge_tol,
        diverged=diverged,
        max_steps=jnp.array(False),
        amplitude_ratio=ratio,
        cycle_rtol=cycle_rtol,
    )
    static = jax.tree_util.tree_unflatten(helper.static_def, helper.static_leaves)
    return TrainResult(
        ts=ts,
        ys=eqx.combine(hist, static),
        grad_norm_disc=gd,
        grad_norm_gen=gg,
        value=value,
        y_final=helper.full(p_final),
        opt_state=states,
        outcome=outcome,
        residual=residual,
        distance=distance,
    )


# -- discrete stability -----------------------------------------------------------------------
def update_jacobian(
    field,
    y_star,
    optimizer,
    *,
    order="simultaneous",
    disc_steps=1,
    regularizers=(),
    opt_state=None,
    t=0.0,
    args=None,
    first="disc",
):
    r"""The Jacobian of one update step of a training rule at an equilibrium, and its
    spectral radius (docs, Theory §5).

    The step is exactly `gdgan.train`'s (deterministic expectation), viewed as a map
    $(θ, s) \mapsto (θ', s')$ on the parameters **and** the optimizer state $s$ (its
    floating-point leaves: momentum traces, optax's optimistic previous gradient, Adam's
    moments; integer/boolean leaves such as step counts are held fixed). The state is
    linearised at `opt_state`, by default the state after one step at $θ^*$ from
    `optimizer.init` — the fixed point $s^* = 0$ for momentum and optimistic methods, where
    $(θ^*, s^*)$ is a fixed point of the map. Coordinates: `ravel_pytree((θ, s))`, the
    parameters first ("disc" then "gen"), then the states ("disc" then "gen").

    Closed forms (with $J$ the field's Jacobian, $α$ the learning rate):
    SGD simultaneous $I + αJ$; extragradient $I + αJ + α^2J^2$; heavy-ball momentum β
    (optax `trace`: $m' = g + βm$, $θ' = θ - αm'$) $[[I + αJ, -αβI], [-J, βI]]$;
    optax optimistic ($θ' = θ - α((a+b)g - b\,g_{prev})$, state $g_{prev}$)
    $[[I + α(a+b)J, αbI], [-J, 0]]$; alternating SGD: see the Dirac-GAN example in
    `discrete_stability`. Adam's step is not differentiable at $ν = 0$: pass an `opt_state`
    with $ν > 0$ (e.g. `train(...).opt_state`); its ν-coordinates then add eigenvalues
    $β_2$.

    **Arguments:** `field` (or a game, with `regularizers`), `y_star`, `optimizer` (as in
    `gdgan.train`), `order`, `disc_steps`, `first` (as in `gdgan.train`), `opt_state`, `t`,
    `args`.

    **Returns:** `(jacobian, spectral_radius)`; the Jacobian is square of size
    `n + (number of optimizer-state coordinates)`.

    ```python
    M, rho = gdgan.update_jacobian(field, y_star, optax.sgd(0.1))  # M = I + 0.1 J
    ```
    """
    if isinstance(field, (Game, ValueGame)):
        field = vector_field(field, *regularizers)
    elif regularizers:
        raise InputError(
            "regularizers: only used when a game is passed; the field given "
            "already includes its regularizers"
        )
    if not callable(field):
        raise InputTypeError(f"field: expected a field(t, y, args) or a gdgan game, got {field!r}")
    y_star = as_arrays(check_state(y_star, "y_star"))
    check_finite_tree(y_star, "update_jacobian", "y_star")
    opts = _players(optimizer)
    if order not in ORDERS:
        raise InputError(f"order: expected one of {list(ORDERS)}, got {order!r}")
    if (
        isinstance(disc_steps, bool)
        or not isinstance(disc_steps, (int, np.integer))
        or disc_steps < 1
    ):
        raise InputError(f"disc_steps: expected a positive integer, got {disc_steps!r}")
    if order == "simultaneous" and disc_steps != 1:
        raise InputError("disc_steps: only used with order='alternating'")
    if first not in STATE_KEYS:
        raise InputError(f"first: expected one of {list(STATE_KEYS)}, got {first!r}")
    from ._analysis import flatten

    flatten(field, y_star, t, args)
    return _update_jacobian(field, y_star, opts, order, int(disc_steps), opt_state, t, args, first)


def _update_jacobian(field, y_star, opts, order, disc_steps, opt_state, t, args, first="disc"):
    # eager on purpose: small, and each new optax instance would otherwise recompile
    params, helper = _split_state(y_star)

    def grad_fn(p, k):
        h = eqx.filter(field(t, helper.full(p), args), eqx.is_inexact_array)
        return jax.tree_util.tree_map(jnp.negative, h)

    key = jax.random.PRNGKey(0)
    if opt_state is None:
        init = {p: opts[p].init(params[p]) for p in STATE_KEYS}
        _, opt_state = _step(grad_fn, opts, params, init, key, order, disc_steps, first)
    z, unravel, static = split_ravel((params, opt_state))

    def F(zv):
        p, s = eqx.combine(unravel(zv), static)
        p2, s2 = _step(grad_fn, opts, p, s, key, order, disc_steps, first)
        return ravel_arrays((p2, s2))

    M = jax.jacfwd(F)(z)
    rho = jnp.max(jnp.abs(jnp.linalg.eigvals(M)))
    return M, rho


class DiscreteStabilityReport(eqx.Module):
    """Result of `gdgan.discrete_stability`.

    - `jacobian`: the update step's Jacobian (see `gdgan.update_jacobian`);
    - `eigenvalues`: its eigenvalues, largest modulus first;
    - `spectral_radius`: $ρ$; `verdict`: `gdgan.Verdict` of $ρ - 1$ against `tol`
      (`stable`: $ρ < 1 - $ tol, locally convergent; `marginal`: $|ρ - 1| \\le$ tol;
      `unstable`: $ρ > 1 +$ tol);
    - `n_params`: the first `n_params` coordinates are the parameters, the rest the
      optimizer state.
    """

    jacobian: Float[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    spectral_radius: Float[Array, ""]
    verdict: Verdict
    n_params: int = eqx.field(static=True)

    @property
    def verdict_name(self):
        return enum_name(Verdict, self.verdict)


def discrete_stability(field, y_star, optimizer, *, tol=1e-9, **kwargs) -> DiscreteStabilityReport:
    r"""Local stability of a discrete training rule at an equilibrium: the update step's
    spectral radius $ρ$ decides (ρ < 1: locally convergent). Keywords as in
    `gdgan.update_jacobian`.

    For simultaneous SGD, $ρ = ρ(I + αJ) < 1$ iff $α < \min_λ 2|\mathrm{Re}\,λ|/|λ|^2$
    (`gdgan.stability(field, y_star).max_stable_step`). Alternating SGD on the Dirac-GAN
    ($h = (-cθ, cψ)$ linearised, $c = f'(0)$): $ψ' = ψ - αcθ$, $θ' = θ + αcψ'$, so the step is
    $[[1, -αc], [αc, 1 - α^2c^2]]$ with determinant 1: $ρ = 1$ for $αc < 2$ (marginal, the
    iterates circle for ever), while simultaneous SGD has $ρ = \sqrt{1 + α^2c^2} > 1$.

    **Returns:** a `DiscreteStabilityReport`.

    ```python
    rep = gdgan.discrete_stability(field, y_star, optax.sgd(0.1), order="alternating")
    rep.spectral_radius, rep.verdict == gdgan.Verdict.marginal
    ```
    """
    y_star = as_arrays(check_state(y_star, "y_star"))
    M, rho = update_jacobian(field, y_star, optimizer, **kwargs)
    eig = jnp.linalg.eigvals(M)
    eig = eig[jnp.argsort(-jnp.abs(eig))]
    n = ravel_arrays(y_star).size
    return DiscreteStabilityReport(
        jacobian=M,
        eigenvalues=eig,
        spectral_radius=rho,
        verdict=verdict_from_max_real(rho - 1.0, tol),
        n_params=int(n),
    )
