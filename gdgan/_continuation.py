r"""Continuation of equilibrium branches in a parameter, and the bifurcations along them.

An equilibrium of a family of fields $h_p$ solves $F(v, p) = h_p(v) = 0$ (with $v$ the
flattened state, `ravel_pytree` order). Away from singular points the solutions form curves
in $(v, p)$-space, which `continuation` follows by **pseudo-arclength** continuation (Keller
1977; see Kuznetsov, "Elements of Applied Bifurcation Theory", §10.2, or the manuals of AUTO
and MatCont): with $x = (v, p)$ and $τ$ the unit tangent of the curve at a point $x_i$,

- predictor $x^{(0)} = x_i + Δs\,τ_i$;
- corrector: Newton (`optimistix.Newton`) on $G(x) = (F(x),\; τ_i^T(x - x_i) - Δs) = 0$;
- new tangent: $τ_{i+1} \propto z$ with $[F_x(x_{i+1});\; τ_i^T]\,z = (0, 1)$, which keeps
  the orientation ($τ_i^T τ_{i+1} > 0$).

The bordered Jacobian $[F_x; τ^T]$ stays regular at a **fold** (where $F_v$ is singular and
the branch turns back in $p$), so the branch is followed through it. The step $Δs$ grows
after easy corrections and halves after a failed or sharply turning one.

**Test functions.** Along the branch the eigenvalues of $F_v$ are computed at every point
(dense, or only the `k` rightmost with `gdgan.rightmost_eigenvalues` when `matrix_free`).
A *fold* is where $\dot p = τ_p$ changes sign (a real eigenvalue passes through 0 and the
branch turns). A *Hopf point* is where a complex pair $λ = μ ± iω$ crosses the imaginary
axis ($μ = 0$, frequency $ω = |\mathrm{Im}\,λ|$); a real eigenvalue crossing 0 without a
turn is a *branch point* (transcritical or pitchfork). A crossing is detected when the
number $N$ of eigenvalues with $\mathrm{Re}\,λ >$ `tol` changes between two points, and
located by bisection in arclength on $N$ (on the sign of $τ_p$ for folds), each trial point
being corrected onto the branch, until the bracket is below `locate_tol`.

**Discrete time.** For a training rule's update map $θ \mapsto Φ_α(θ)$ the fixed points of
every gradient-based rule (SGD, simultaneous or alternating, optimistic, extragradient, with
a zero optimizer state) are the zeros of $h$ for every step α, so the branch in α is the
equilibrium itself and only the multipliers (the eigenvalues of $\partial Φ_α$,
`gdgan.update_jacobian`) move. `continuation_discrete` locates where they leave the unit
circle as α grows: a *flip* (a real multiplier through $-1$), a *Neimark–Sacker* point (a
complex pair through $|μ| = 1$, "frequency" $|\arg μ|$ radians per step) and a *fold* (a
multiplier through $+1$).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx

from ._analysis import flatten, jacobian, sort_by_real
from ._checks import InputError, InputTypeError, check_finite_tree, check_int, check_number
from ._game import check_state
from ._tree import as_arrays, ravel_arrays, split_ravel

STATUSES = {
    "reached_stop": "the branch reached p_stop",
    "left_interval": "the branch turned back and left [p_start, p_stop] on the p_start side",
    "max_points": "max_points points were computed before reaching p_stop (raise max_points "
    "or ds_max)",
    "step_too_small": "the corrector failed at the smallest step ds_min (a singular point the "
    "pseudo-arclength system cannot pass, or a branch that ends/diverges)",
}


class Bifurcation(eqx.Module):
    """A bifurcation point on a branch (host values).

    - `kind`: `"fold"`, `"hopf"` or `"branch_point"` (continuous time); `"flip"`,
      `"neimark_sacker"` or `"fold"` (discrete time, a multiplier through $-1$, $e^{\\pm iω}$
      or $+1$);
    - `p`: the parameter there; `y`: the state (the structure of `y0`);
    - `frequency`: $|\\mathrm{Im}\\,λ|$ of the critical pair at a Hopf point (0 at a fold or
      branch point); for maps the angle $|\\arg μ|$ of the critical multiplier (π at a flip);
    - `eigenvalue`: the critical eigenvalue (multiplier) there;
    - `bracket`: the width, in arclength (or in α for maps), of the final bisection bracket.
    """

    kind: str = eqx.field(static=True)
    p: float
    y: Any
    frequency: float
    eigenvalue: complex
    bracket: float


class Branch(eqx.Module):
    """Result of `gdgan.continuation` / `gdgan.continuation_discrete` (host NumPy arrays).

    - `p`: `(m,)` parameter values along the branch; `s`: `(m,)` arclength in $(v, p)$;
    - `y`: the states, the structure of `y0` with a leading axis of size `m`;
    - `eigenvalues`: `(m, n)` complex — the Jacobian's eigenvalues sorted by real part,
      largest first (`(m, k)`, the `k` rightmost, when `matrix_free`); for maps the
      multipliers sorted by modulus, largest first;
    - `stable`: `(m,)` bool, every $\\mathrm{Re}\\,λ <$ `-tol` (maps: every $|μ| < 1 -$ `tol`);
    - `points`: a list of `Bifurcation`, in the order met along the branch;
    - `status`: one of `"reached_stop"`, `"left_interval"`, `"max_points"`,
      `"step_too_small"` (`message` says what it means); `time`: `"continuous"` or
      `"discrete"`.
    """

    p: np.ndarray
    s: np.ndarray
    y: Any
    eigenvalues: np.ndarray
    stable: np.ndarray
    points: list
    status: str = eqx.field(static=True)
    time: str = eqx.field(static=True, default="continuous")

    @property
    def message(self) -> str:
        return STATUSES[self.status]

    @property
    def max_real(self) -> np.ndarray:
        """`(m,)` the spectral abscissa along the branch (spectral radius for maps)."""
        if self.time == "discrete":
            return np.max(np.abs(self.eigenvalues), axis=1)
        return np.max(self.eigenvalues.real, axis=1)


# -- the flattened problem ------------------------------------------------------------------
class _AtP(eqx.Module):
    """The field `field_of(p)` as a pytree with `p` an array leaf, so that compiled code
    (here and in `gdgan.rightmost_eigenvalues`) is reused along the branch."""

    field_of: Callable
    p: jax.Array

    def __call__(self, t, y, args=None):
        return self.field_of(self.p)(t, y, args)


class _Problem(eqx.Module):
    field_of: Callable
    unravel: Callable
    static: Any
    t: Any
    args: Any

    def state(self, v):
        return eqx.combine(self.unravel(v), self.static)

    def F(self, x):
        out = self.field_of(x[-1])(self.t, self.state(x[:-1]), self.args)
        return ravel_arrays(out)


def _solver(matrix_free, n, rtol, atol):
    if matrix_free:
        return lx.GMRES(
            rtol=rtol * 1e-2, atol=atol * 1e-2, restart=min(n + 1, 40), stagnation_iters=40
        )
    return lx.AutoLinearSolver(well_posed=True)


@eqx.filter_jit
def _correct(prob, x_pred, tau, x_base, s, rtol, atol, max_steps, matrix_free):
    """Newton on $(F(x), τ^T(x - x_{base}) - s) = 0$ from `x_pred`. With τ = e_p,
    x_base = 0 this fixes $p = s$."""

    def G(x, _):
        return jnp.concatenate([prob.F(x), jnp.atleast_1d(jnp.dot(tau, x - x_base) - s)])

    solver = optx.Newton(
        rtol=rtol, atol=atol, linear_solver=_solver(matrix_free, x_pred.size, rtol, atol)
    )
    sol = optx.root_find(G, solver, x_pred, max_steps=max_steps, throw=False)
    x = sol.value
    res = jnp.max(jnp.abs(prob.F(x)))
    ok = (sol.result == optx.RESULTS.successful) & jnp.all(jnp.isfinite(x)) & (res <= 10 * atol)
    return x, ok, sol.stats["num_steps"], res


@eqx.filter_jit
def _dense(prob, x, tau_prev, initial):
    """Unit tangent (oriented by `tau_prev`; the SVD null vector when `initial`), the
    eigenvalues of $F_v$, sorted by real part, and (when `initial`) the singular values of
    $[F_v, F_p]$."""
    v, p = x[:-1], x[-1]
    J = jacobian(_AtP(prob.field_of, p), prob.state(v), t=prob.t, args=prob.args)
    Fp = jax.jvp(lambda q: prob.F(jnp.concatenate([v, q[None]])), (p,), (jnp.ones_like(p),))[1]
    A = jnp.concatenate([J, Fp[:, None]], axis=1)
    if initial:
        _, svals, vt = jnp.linalg.svd(A, full_matrices=True)
        z = jnp.where(jnp.dot(vt[-1], tau_prev) < 0, -vt[-1], vt[-1])
    else:
        e = jnp.zeros(x.size, x.dtype).at[-1].set(1.0)
        z = jnp.linalg.solve(jnp.concatenate([A, tau_prev[None]], axis=0), e)
        svals = jnp.zeros((0,), x.dtype)
    return z / jnp.linalg.norm(z), sort_by_real(jnp.linalg.eigvals(J)), svals


@eqx.filter_jit
def _tangent_mf(prob, x, tau_prev, rtol, atol):
    """Matrix-free tangent: GMRES on $[F_x; τ_{prev}^T] z = (0, 1)$."""
    _, lin = jax.linearize(prob.F, x)
    op = lx.FunctionLinearOperator(
        lambda z: jnp.concatenate([lin(z), jnp.atleast_1d(jnp.dot(tau_prev, z))]),
        jax.ShapeDtypeStruct(x.shape, x.dtype),
    )
    e = jnp.zeros(x.size, x.dtype).at[-1].set(1.0)
    z = lx.linear_solve(op, e, _solver(True, x.size, rtol, atol), throw=False).value
    return z / jnp.linalg.norm(z)


class _AffineField(eqx.Module):
    f0: Callable
    f1: Callable
    p: jax.Array

    def __call__(self, t, y, args=None):
        return jax.tree_util.tree_map(
            lambda a, b: a + self.p * (b - a), self.f0(t, y, args), self.f1(t, y, args)
        )


class AffineFamily(eqx.Module):
    r"""`field_of(p)` $= h_0 + p\,(h_1 - h_0)$ for two fields `f0`, `f1`: the exact family
    of a regularizer that is linear in its hyperparameter (e.g. `GradientPenalty`, whose
    term is $η\nabla_{θ_G}\|\nabla_{θ_D}V\|^2$, with $h_0$ at η = 0 and $h_1$ at η = 1),
    extended to negative values that the regularizer's own check refuses."""

    f0: Callable
    f1: Callable

    def __call__(self, p):
        return _AffineField(self.f0, self.f1, jnp.asarray(p, float))


# -- continuous time ---------------------------------------------------------------------------
def continuation(
    field_of,
    y0,
    p_start,
    p_stop,
    *,
    ds=None,
    ds_min=None,
    ds_max=None,
    max_points=200,
    rtol=1e-10,
    atol=1e-10,
    max_newton=12,
    max_turn=0.5,
    tol=1e-9,
    imag_tol=1e-7,
    locate_tol=1e-10,
    matrix_free=False,
    k=6,
    eig_tol=1e-10,
    t=0.0,
    args=None,
) -> Branch:
    r"""Follow the equilibria of $h_p$ = `field_of(p)` from `p_start` towards `p_stop` by
    pseudo-arclength continuation, with the spectrum along the branch and its folds, Hopf
    points and branch points located by bisection (see the module docstring for the
    method; Keller 1977, Kuznetsov 2004 §10.2).

    **Arguments:**

    - `field_of`: `p -> field(t, y, args)`; it must be traceable in `p` (e.g.
      `lambda eta: gdgan.vector_field(game, gdgan.GradientPenalty(eta))`);
    - `y0`: a state `{"disc": ..., "gen": ...}` near an equilibrium of `field_of(p_start)`
      (corrected by Newton first);
    - `p_start`, `p_stop`: the parameter interval (either order);
    - `ds`, `ds_min`, `ds_max`: initial, smallest and largest arclength steps in $(v, p)$
      (defaults $|Δp|/50$, $10^{-8}|Δp|$, $|Δp|/10$);
    - `max_points`: the most points on the branch (the start included);
    - `rtol`, `atol`, `max_newton`: the corrector's Newton tolerances and iterations;
    - `max_turn`: a step is rejected (and halved) when the tangent turns by more than this
      angle (radians);
    - `tol`: eigenvalues with $\mathrm{Re}\,λ >$ `tol` count as unstable (the test
      functions); `imag_tol`: $|\mathrm{Im}\,λ| >$ `imag_tol` makes a crossing a Hopf point;
    - `locate_tol`: the bisection bracket, in arclength, at which a point is located;
    - `matrix_free`: track only the `k` rightmost eigenvalues
      (`gdgan.rightmost_eigenvalues`, tolerance `eig_tol`) and solve the corrector's and the
      tangent's linear systems by GMRES (Jacobian-vector products only);
    - `t`, `args`: passed to the field.

    **Returns:** a `Branch` (`.p`, `.y`, `.eigenvalues`, `.stable`, `.points`, `.status`).

    ```python
    s = gdgan.systems.get("lq", loss="wgan")
    br = gdgan.continuation(lambda eta: s.field(gdgan.GradientPenalty(eta)),
                            s.equilibrium, 0.0, 2.0)
    br.stable[-1], [(b.kind, b.p) for b in br.points]
    ```
    """
    if not callable(field_of):
        raise InputTypeError(
            f"field_of: expected a callable p -> field(t, y, args), got {field_of!r}"
        )
    y0 = as_arrays(check_state(y0, "y0"))
    check_finite_tree(y0, "continuation", "y0")
    p_start = check_number(p_start, "continuation", "p_start", positive=False)
    p_stop = check_number(p_stop, "continuation", "p_stop", positive=False)
    if p_start == p_stop:
        raise InputError(
            f"p_stop: expected a value different from p_start = {p_start}, got {p_stop}"
        )
    span = abs(p_stop - p_start)
    ds = check_number(ds, "continuation", "ds", allow_none=True) or span / 50
    ds_max = check_number(ds_max, "continuation", "ds_max", allow_none=True) or max(span / 10, ds)
    ds_min = check_number(ds_min, "continuation", "ds_min", allow_none=True) or 1e-8 * span
    max_points = check_int(max_points, "continuation", "max_points", low=2)
    max_newton = check_int(max_newton, "continuation", "max_newton")
    k = check_int(k, "continuation", "k")
    for name, value in (
        ("rtol", rtol),
        ("atol", atol),
        ("tol", tol),
        ("imag_tol", imag_tol),
        ("locate_tol", locate_tol),
        ("max_turn", max_turn),
        ("eig_tol", eig_tol),
    ):
        check_number(value, "continuation", name)
    if not isinstance(matrix_free, bool):
        raise InputTypeError(f"matrix_free: expected True or False, got {matrix_free!r}")

    y0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, float) if isinstance(a, float) else a, y0)
    flatten(field_of(jnp.asarray(p_start, float)), y0, t, args)  # structure check
    v0, unravel, static = split_ravel(y0)
    n = v0.size
    if matrix_free and k > n:
        raise InputError(f"k: expected an integer in [1, n = {n}], got {k}")
    prob = _Problem(field_of, unravel, static, t, args)
    dtype = v0.dtype
    e_p = jnp.zeros(n + 1, dtype).at[-1].set(1.0)
    direction = 1.0 if p_stop > p_start else -1.0
    lo, hi = min(p_start, p_stop), max(p_start, p_stop)

    def correct(x_pred, tau, x_base, s):
        x, ok, steps, res = _correct(
            prob, x_pred, tau, x_base, jnp.asarray(s, dtype), rtol, atol, max_newton, matrix_free
        )
        return x, bool(ok), int(steps), float(res)

    eig_v0 = [None]

    def analyse(x, tau_prev, initial=False):
        """(tangent, eigenvalues as complex NumPy)."""
        if not matrix_free:
            tau, eig, svals = _dense(prob, x, tau_prev, initial)
            if initial and n > 0:
                sv = np.asarray(svals)
                if sv[-1] <= 1e-8 * max(sv[0], 1.0):
                    rank = int(np.sum(sv > 1e-8 * max(sv[0], 1.0)))
                    raise InputError(
                        f"y0: expected a regular point of an equilibrium curve at p_start = "
                        f"{p_start} (rank [h_y, h_p] = n = {n}), got rank {rank}: the "
                        "equilibria there form a continuum (e.g. a marginal family), which "
                        "has no unique branch to follow"
                    )
            return tau, np.asarray(eig)
        from ._spectra import rightmost_eigenvalues

        tau = _tangent_mf(prob, x, tau_prev, rtol, atol)
        out = rightmost_eigenvalues(
            _AtP(field_of, x[-1]),
            prob.state(x[:-1]),
            k=k,
            tol=eig_tol,
            t=t,
            args=args,
            v0=eig_v0[0],
            return_eigenvectors=True,
        )
        vec = out.eigenvectors[:, 0]
        eig_v0[0] = vec.real + vec.imag
        return tau, out.eigenvalues

    # the first point: Newton at fixed p = p_start
    x_start = jnp.concatenate([v0, jnp.asarray([p_start], dtype)])
    res0 = float(jnp.max(jnp.abs(prob.F(x_start)))) if n else 0.0
    if res0 <= atol:  # already an equilibrium (Newton would fail where h_y is singular)
        x, ok, res = x_start, True, res0
    else:
        x, ok, _, res = correct(x_start, e_p, jnp.zeros_like(x_start), p_start)
    if not ok:
        raise InputError(
            f"y0: expected a state near an equilibrium of field_of(p_start = {p_start}); "
            f"Newton stopped at max|h| = {res:.3g} (atol = {atol:g})"
        )
    tau, eig = analyse(x, direction * e_p, initial=not matrix_free)
    if matrix_free:
        tau = jnp.where(tau[-1] * direction < 0, -tau, tau)
    xs, taus, eigs, steps_s = [x], [tau], [eig], [0.0]
    status = "max_points"

    def count(e, thr=tol):
        return int(np.sum(e.real > thr))

    while len(xs) < max_points:
        x, tau = xs[-1], taus[-1]
        h = ds
        while True:
            x_new, ok, it, _ = correct(x + h * tau, tau, x, h)
            if ok:
                tau_new, eig_new = analyse(x_new, tau)
                ok = float(jnp.dot(tau, tau_new)) >= math.cos(max_turn)
            if ok:
                break
            h *= 0.5
            if h < ds_min:
                break
        if not ok:
            status = "step_too_small"
            break
        ds = min(h * 1.5, ds_max) if it <= 3 else (h * 0.7 if it >= 6 else h)
        p_new = float(x_new[-1])
        if p_new > hi or p_new < lo:  # clip the last point to the interval's end
            end = hi if p_new > hi else lo
            f = (end - float(x[-1])) / (p_new - float(x[-1]))
            x_end, ok, _, _ = correct(x + f * (x_new - x), e_p, jnp.zeros_like(x), end)
            s_end = float(jnp.dot(tau, x_end - x))
            if ok and s_end > 0:
                x_new, h = x_end, s_end
                tau_new, eig_new = analyse(x_new, tau)
            status = "reached_stop" if end == p_stop else "left_interval"
            xs.append(x_new)
            taus.append(tau_new)
            eigs.append(eig_new)
            steps_s.append(h)
            break
        xs.append(x_new)
        taus.append(tau_new)
        eigs.append(eig_new)
        steps_s.append(h)

    # -- locate the bifurcations between consecutive points ---------------------------------
    def point_at(i, s):
        """Corrected point at arclength s from xs[i] along taus[i], its tangent and spectrum."""
        xi, ti = xs[i], taus[i]
        xp, ok, _, _ = correct(xi + s * ti, ti, xi, s)
        tp, ep = analyse(xp, ti)
        return xp, tp, ep

    def bisect(i, test):
        """A bracket [a, b] in (0, steps_s[i+1]) of width <= locate_tol where `test`
        changes value, and the corrected point at its middle."""
        a, b = 0.0, steps_s[i + 1]
        va = test(xs[i], taus[i], eigs[i])
        while b - a > locate_tol:
            m = 0.5 * (a + b)
            xm, tm, em = point_at(i, m)
            if test(xm, tm, em) == va:
                a = m
            else:
                b = m
        return point_at(i, 0.5 * (a + b)), b - a

    points = []
    for i in range(len(xs) - 1):
        turned = float(taus[i][-1]) * float(taus[i + 1][-1]) < 0
        found = []
        if turned:
            (xb, tb, eb), width = bisect(i, lambda x_, t_, e_: bool(t_[-1] > 0))
            crit = eb[np.argmin(np.abs(eb))]
            found.append(("fold", xb, crit, 0.0, width))
        if count(eigs[i]) != count(eigs[i + 1]):
            # bisect on the sign of Re λ itself (threshold 0) when no eigenvalue sits within
            # `tol` of the axis at either end (a transversal crossing), else on `tol`
            thr = (
                0.0
                if (np.min(np.abs(eigs[i].real)) > tol and np.min(np.abs(eigs[i + 1].real)) > tol)
                else tol
            )
            (xb, tb, eb), width = bisect(i, lambda x_, t_, e_: count(e_, thr))
            crit = eb[np.argmin(np.abs(eb.real))]
            if abs(crit.imag) > imag_tol:
                found.append(("hopf", xb, crit, abs(crit.imag), width))
            elif not turned:
                found.append(("branch_point", xb, crit, 0.0, width))
        for kind, xb, crit, freq, width in found:
            points.append(
                Bifurcation(
                    kind=kind,
                    p=float(xb[-1]),
                    y=prob.state(xb[:-1]),
                    frequency=float(freq),
                    eigenvalue=complex(crit),
                    bracket=float(width),
                )
            )

    X = jnp.stack(xs)
    E = np.stack(eigs)
    return Branch(
        p=np.asarray(X[:, -1]),
        s=np.cumsum(np.asarray(steps_s)),
        y=eqx.combine(jax.vmap(unravel)(X[:, :-1]), static),
        eigenvalues=E,
        stable=np.max(E.real, axis=1) < -tol,
        points=points,
        status=status,
    )


# -- discrete time -----------------------------------------------------------------------------
def _sgd(lr):
    import optax

    return optax.sgd(lr)


def _optimistic(lr):
    import optax

    return optax.optimistic_gradient_descent(lr)


def _extragradient(lr):
    from ._train import extragradient

    return extragradient(lr)


METHODS = {"gd": _sgd, "optimistic": _optimistic, "extragradient": _extragradient}


@eqx.filter_jit
def _update_matrix(field, y_star, make, lr, order, disc_steps, t, args):
    from ._train import update_jacobian

    return update_jacobian(
        field, y_star, make(lr), order=order, disc_steps=disc_steps, t=t, args=args
    )[0]


def continuation_discrete(
    field,
    y_star,
    lr_start,
    lr_stop,
    *,
    method="gd",
    order="simultaneous",
    disc_steps=1,
    n_points=64,
    tol=1e-10,
    imag_tol=1e-7,
    locate_tol=1e-10,
    equilibrium_tol=1e-8,
    t=0.0,
    args=None,
) -> Branch:
    r"""The multipliers of a training rule's update map $Φ_α$ at an equilibrium as the step
    size α grows, with the points where they leave (or enter) the unit circle.

    Fixed points of SGD (simultaneous or alternating), optimistic gradient descent and
    extragradient, with a zero optimizer state, are exactly the zeros of $h$ for every α,
    so the branch is `y_star` itself and the multipliers are the eigenvalues of
    $\partial Φ_α$ (`gdgan.update_jacobian`, with its coordinates: parameters, then the
    optimizer state). They are computed on `n_points` equally spaced steps; where the number
    of multipliers with $|μ| > 1 +$ `tol` changes, the step is bisected to `locate_tol` and
    the crossing classified by the critical multiplier: **flip** ($μ = -1$, period doubling),
    **Neimark–Sacker** (a complex pair, $μ = e^{\pm iω}$; `frequency` $= ω$ radians per
    step) or **fold** ($μ = +1$). For simultaneous SGD the first crossing is
    `gdgan.stability(field, y_star).max_stable_step` $= \min_λ 2|\mathrm{Re}\,λ|/|λ|^2$
    (docs, Theory §5): a Neimark–Sacker point when the critical λ is complex, a flip when real.

    **Arguments:**

    - `field`, `y_star`: a field and an equilibrium of it (refined by Newton; an error if
      $\max|h| >$ `equilibrium_tol` after that);
    - `lr_start`, `lr_stop`: positive step sizes;
    - `method`: `"gd"` (`optax.sgd`), `"optimistic"` (`optax.optimistic_gradient_descent`:
      $θ' = θ - α(2g_k - g_{k-1})$), `"extragradient"` (`gdgan.extragradient`), or a
      callable `lr -> optimizer` accepted by `gdgan.train` (traceable in `lr`);
    - `order`, `disc_steps`: as in `gdgan.train`;
    - `n_points`: grid size; a pair of crossings between two grid points is missed;
    - `tol`, `imag_tol`, `locate_tol`: the unit circle's width, the imaginary part that
      makes a multiplier complex, the bisection bracket in α;
    - `t`, `args`: passed to the field.

    **Returns:** a `Branch` with `time="discrete"`: `.p` the steps, `.eigenvalues` the
    multipliers (sorted by modulus, largest first), `.stable` ($ρ < 1 -$ `tol`), `.points`.

    ```python
    s = gdgan.systems.get("dirac", loss="wgan")
    br = gdgan.continuation_discrete(s.field(gdgan.GradientPenalty(0.5)), s.equilibrium,
                                     0.01, 2.0, order="alternating")
    [(b.kind, b.p) for b in br.points]
    ```
    """
    if not callable(field):
        raise InputTypeError(f"field: expected a field(t, y, args), got {field!r}")
    y_star = as_arrays(check_state(y_star, "y_star"))
    check_finite_tree(y_star, "continuation_discrete", "y_star")
    lr_start = check_number(lr_start, "continuation_discrete", "lr_start")
    lr_stop = check_number(lr_stop, "continuation_discrete", "lr_stop")
    if lr_start == lr_stop:
        raise InputError(
            f"lr_stop: expected a value different from lr_start = {lr_start}, got {lr_stop}"
        )
    if isinstance(method, str):
        if method not in METHODS:
            raise InputError(
                f"method: expected one of {list(METHODS)} or a callable "
                f"lr -> optimizer, got {method!r}"
            )
        make = METHODS[method]
    elif callable(method):
        make = method
    else:
        raise InputTypeError(
            f"method: expected one of {list(METHODS)} or a callable lr -> optimizer, got {method!r}"
        )
    from ._train import ORDERS

    if order not in ORDERS:
        raise InputError(f"order: expected one of {list(ORDERS)}, got {order!r}")
    disc_steps = check_int(disc_steps, "continuation_discrete", "disc_steps")
    n_points = check_int(n_points, "continuation_discrete", "n_points", low=2)
    for name, value in (
        ("tol", tol),
        ("imag_tol", imag_tol),
        ("locate_tol", locate_tol),
        ("equilibrium_tol", equilibrium_tol),
    ):
        check_number(value, "continuation_discrete", name)

    from ._equilibria import find_equilibrium

    y_star = jax.tree_util.tree_map(
        lambda a: jnp.asarray(a, float) if isinstance(a, float) else a, y_star
    )
    f, v, _ = flatten(field, y_star, t, args)
    y_star = find_equilibrium(field, y_star, throw=False, t=t, args=args)
    res = (
        float(
            jnp.max(jnp.abs(flatten(field, y_star, t, args)[0](flatten(field, y_star, t, args)[1])))
        )
        if v.size
        else 0.0
    )
    if not res <= equilibrium_tol:
        raise InputError(
            f"y_star: expected an equilibrium of `field` (max|h| <= "
            f"{equilibrium_tol:g} after Newton), got max|h| = {res:.3g}"
        )

    def multipliers(lr):
        M = _update_matrix(field, y_star, make, jnp.asarray(lr, float), order, disc_steps, t, args)
        mu = np.linalg.eigvals(np.asarray(M))
        return mu[np.lexsort((-mu.imag, -np.abs(mu)))]

    lrs = np.linspace(lr_start, lr_stop, n_points)
    mus = [multipliers(a) for a in lrs]

    def count(mu, thr):
        return int(np.sum(np.abs(mu) > 1.0 + thr))

    def near_circle(mu):
        return np.min(np.abs(np.abs(mu) - 1.0)) <= tol

    points = []
    for i in range(n_points - 1):
        if count(mus[i], tol) == count(mus[i + 1], tol):
            continue
        thr = tol if near_circle(mus[i]) or near_circle(mus[i + 1]) else 0.0
        a, b = lrs[i], lrs[i + 1]
        ca = count(mus[i], thr)
        while abs(b - a) > locate_tol:
            m = 0.5 * (a + b)
            if count(multipliers(m), thr) == ca:
                a = m
            else:
                b = m
        lr = 0.5 * (a + b)
        # classify by the multiplier just outside the circle on the unstable side
        mu_a, mu_b = multipliers(a), multipliers(b)
        mu = mu_a if count(mu_a, thr) > count(mu_b, thr) else mu_b
        out = mu[np.abs(mu) > 1.0 + thr]
        crit = out[np.argmin(np.abs(out))]
        if abs(crit.imag) > imag_tol:
            kind, freq = "neimark_sacker", abs(np.angle(crit))
        elif crit.real < 0:
            kind, freq = "flip", math.pi
        else:
            kind, freq = "fold", 0.0
        points.append(
            Bifurcation(
                kind=kind,
                p=float(lr),
                y=y_star,
                frequency=float(freq),
                eigenvalue=complex(crit),
                bracket=float(abs(b - a)),
            )
        )

    E = np.stack(mus)
    m = n_points
    y = jax.tree_util.tree_map(
        lambda a: jnp.broadcast_to(a, (m,) + jnp.shape(a)) if eqx.is_array(a) else a, y_star
    )
    return Branch(
        p=lrs,
        s=lrs - lr_start if lr_stop > lr_start else lr_start - lrs,
        y=y,
        eigenvalues=E,
        stable=np.max(np.abs(E), axis=1) < 1.0 - tol,
        points=points,
        status="reached_stop",
        time="discrete",
    )
