r"""Regions of attraction: how far from an equilibrium $y^*$ trajectories still return to it.

Three estimates, all on the flattened state (`ravel_pytree` order, "disc" first):

- `basin_radius`: along many random unit directions $d$ at once (one vmapped
  `gdgan.simulate` per bisection step), the largest $r$ such that the trajectory from
  $y^* + r d$ converges *to* $y^*$ (converging to another equilibrium does not count);
- `basin_slice`: the outcome and the time to converge on a grid of the plane
  $y^* + a u + b v$ (a 2-D map of the basin);
- `lyapunov_certificate`: a certified inner estimate from the quadratic Lyapunov function
  $V(y) = (y - y^*)^T P (y - y^*)$, $J^T P + P J = -I$: the largest sublevel set
  $\{V \le c\}$ on which $\dot V = 2 (y - y^*)^T P\, h(y) < 0$ at every sampled point.

The sampled estimates are only as good as the simulation: a run that has not converged by
`t1` counts as *outside*, so a too-short horizon shrinks the basin (never enlarges it).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float

from ._analysis import check_memory, flatten, jacobian
from ._checks import (
    InputError,
    InputTypeError,
    check_finite_tree,
    check_int,
    check_number,
)
from ._game import check_state
from ._lyapunov import lyapunov_bytes, solve_continuous_lyapunov
from ._results import enum_code, enum_names
from ._simulate import Outcome, as_arrays, simulate, tree_distance
from ._tree import map_chunks, ravel_arrays, split_ravel

OUTCOMES = enum_names(Outcome)


def _state(owner, field, y_star, args):
    if not callable(field):
        raise InputTypeError(
            f"{owner}: `field` must be a callable field(t, y, args), got {field!r}"
        )
    y_star = as_arrays(check_state(y_star, "y_star"))
    check_finite_tree(y_star, owner, "y_star")
    _, v, _ = flatten(field, y_star, 0.0, args)
    return y_star, np.asarray(v)


def _unit_rows(owner, name, x, n):
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"{owner}: {name}: expected a numeric array, got {x!r}") from None
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != n:
        raise InputError(
            f"{owner}: {name}: expected shape (k, {n}) (flattened state), got {np.shape(x)}"
        )
    norms = np.linalg.norm(a, axis=1)
    if not np.all(np.isfinite(a)) or np.any(norms == 0):
        raise InputError(f"{owner}: {name}: expected finite non-zero rows, got {x!r}")
    return a / norms[:, None]


# -- one vmapped batch of simulations ----------------------------------------------------
class _Options(eqx.Module):
    t1: jax.Array
    converge_tol: jax.Array
    near_tol: jax.Array
    diverge_norm: jax.Array
    rtol: jax.Array
    atol: jax.Array
    max_steps: int = eqx.field(static=True)
    distance: Any = eqx.field(static=True)


@eqx.filter_jit
def _batch(field, y_star, points, args, opt: _Options):
    """Simulate from every row of `points` (flattened states); returns (outcome code,
    in_basin, time of convergence or NaN)."""
    _, unravel, static = split_ravel(y_star)
    distance = tree_distance if opt.distance is None else opt.distance

    def one(p):
        y0 = eqx.combine(unravel(p), static)
        res = simulate(
            field,
            y0,
            opt.t1,
            saveat=diffrax.SaveAt(t1=True),
            n_check=101,
            rtol=opt.rtol,
            atol=opt.atol,
            max_steps=opt.max_steps,
            throw=False,
            args=args,
            converge_tol=opt.converge_tol,
            diverge_norm=opt.diverge_norm,
            y_star=y_star,
        )
        converged = res.outcome == Outcome.converged
        inside = converged & (distance(res.y_final, y_star) < opt.near_tol)
        t_conv = jnp.where(converged, res.t_final, jnp.nan)
        return enum_code(res.outcome), inside, t_conv

    return jax.vmap(one)(points)


def _run(field, y_star, points, args, opt, chunk_size):
    """`_batch` over chunks of `chunk_size` rows (the last chunk padded, so every chunk
    reuses one compilation)."""
    return map_chunks(lambda block: _batch(field, y_star, block, args, opt), points, chunk_size)


def default_horizon(field, y_star, reach, converge_tol, args=None):
    r"""A horizon long enough for the slowest linear mode at `y_star` to shrink a deviation
    of size `reach` until $\|h\| <$ `converge_tol`: $t_1 = 3\ln(\mathrm{reach}\,(1 +
    |λ|_{max}) / \mathrm{tol}) / μ$ with $μ = -\max\mathrm{Re}\,λ(J)$, clipped to
    $[100, 10^4]$; 100 when `y_star` is not exponentially stable (dense spectrum up to
    n = 1 000, else matrix-free)."""
    v = ravel_arrays(y_star)
    if v.size <= 1000:
        lam = np.linalg.eigvals(np.asarray(jacobian(field, y_star, args=args)))
    else:
        from ._spectra import rightmost_eigenvalues

        lam = np.asarray(rightmost_eigenvalues(field, y_star, k=2, tol=1e-6, args=args).eigenvalues)
    mu = -float(np.max(lam.real))
    if not mu > 1e-12:
        return 100.0
    t1 = 3.0 * math.log(max(reach * (1.0 + float(np.max(np.abs(lam)))) / converge_tol, math.e)) / mu
    return float(min(max(t1, 100.0), 1e4))


def _options(
    owner,
    field,
    y_star,
    args,
    *,
    reach,
    t1,
    converge_tol,
    near_tol,
    diverge_norm,
    rtol,
    atol,
    max_steps,
    distance,
    scale,
):
    """Checked simulation options; `t1=None` becomes `default_horizon` for deviations of
    size `reach`."""
    converge_tol = check_number(converge_tol, owner, "converge_tol")
    if t1 is None:
        t1 = default_horizon(field, y_star, reach, converge_tol, args)
    t1 = check_number(t1, owner, "t1")
    near_tol = check_number(near_tol, owner, "near_tol")
    rtol, atol = check_number(rtol, owner, "rtol"), check_number(atol, owner, "atol")
    max_steps = check_int(max_steps, owner, "max_steps")
    if diverge_norm is None:
        diverge_norm = 1e3 * (1.0 + scale)
    diverge_norm = check_number(diverge_norm, owner, "diverge_norm")
    if distance is not None and not callable(distance):
        raise InputTypeError(
            f"{owner}: `distance` must be a callable distance(y, y_star) or None, got {distance!r}"
        )
    arr = lambda x: jnp.asarray(x, dtype=float)  # noqa: E731 - traced: new values reuse code
    return _Options(
        arr(t1),
        arr(converge_tol),
        arr(near_tol),
        arr(diverge_norm),
        arr(rtol),
        arr(atol),
        max_steps,
        distance,
    )


# -- basin radius ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BasinRadius:
    """Result of `gdgan.basin_radius` (NumPy arrays).

    - `radii` `(k,)`: per direction, the largest radius found inside the basin (the lower
      end of the final bisection bracket; `r_max` where the run from `r_max` converged);
    - `upper` `(k,)`: the upper end of the bracket (`radii + tol` at most; `inf` where
      `hit_r_max`);
    - `directions` `(k, n)`: the unit directions in flattened-state space;
    - `hit_r_max` `(k,)`: the run from $y^* + r_{max} d$ converged, so the radius is only a
      lower bound;
    - `r_max`, `tol`, `iterations`: the bisection's range, bracket width and step count;
    - `min`, `median`, `max`, `mean` of the radii, and `summary()` with all of them.
    """

    radii: Float[np.ndarray, " k"]
    upper: Float[np.ndarray, " k"]
    directions: Float[np.ndarray, "k n"]
    hit_r_max: Bool[np.ndarray, " k"]
    r_max: float
    tol: float
    iterations: int

    min = property(lambda self: float(np.min(self.radii)))
    median = property(lambda self: float(np.median(self.radii)))
    max = property(lambda self: float(np.max(self.radii)))
    mean = property(lambda self: float(np.mean(self.radii)))

    def summary(self) -> dict:
        """`{"min", "median", "max", "mean", "hit_r_max", "n_directions"}` (floats;
        `hit_r_max` is the fraction of directions whose radius is only a lower bound)."""
        r = self.radii
        return {
            "min": float(np.min(r)),
            "median": float(np.median(r)),
            "max": float(np.max(r)),
            "mean": float(np.mean(r)),
            "hit_r_max": float(np.mean(self.hit_r_max)),
            "n_directions": int(r.size),
        }


def basin_radius(
    field,
    y_star,
    *,
    directions=64,
    r_max,
    key=None,
    tol=None,
    t1=None,
    converge_tol=1e-6,
    near_tol=1e-3,
    diverge_norm=None,
    rtol=1e-8,
    atol=1e-8,
    max_steps=16_384,
    distance=None,
    args=None,
    chunk_size=None,
    progress=False,
) -> BasinRadius:
    r"""Radius of the region of attraction of `y_star` along many directions at once.

    For each unit direction $d$ (flattened state), a point $y^* + r d$ is *in the basin*
    when `gdgan.simulate` from it (`throw=False`) ends `converged` ($\|h\| <$
    `converge_tol`) within `t1` **and** `distance(y_final, y_star) < near_tol` (a run
    that converges to another equilibrium is outside). The run from `r_max` is tested
    first (if inside, the radius is `r_max`, flagged in `hit_r_max`), then `tol` (if
    outside, the radius is 0); the others are bisected on $[0, r_{max}]$ with at most
    $\lceil \log_2(r_{max}/\mathrm{tol}) \rceil$ steps, each step one vmapped `simulate`
    over every direction (until every bracket is narrower than `tol`). Basins need not be
    star-shaped: the radius is the bisection boundary *assuming* the ray from $y^*$ stays
    inside up to it (a hole or a second component along the ray is not detected). A centre or an unstable
    point gets radius 0.

    **Arguments:**

    - `field(t, y, args)`, `y_star`: the field and the equilibrium (a state);
    - `directions`: the number of random directions (uniform on the sphere, from `key`,
      default `jax.random.PRNGKey(0)`) or a `(k, n)` array of directions (normalised);
    - `r_max`: the largest radius tested; `tol`: the bisection's bracket width (absolute,
      default `r_max / 256`);
    - `t1`: the horizon (default `default_horizon`: long enough for the slowest linear mode
      at `y_star` to decay from `r_max`; a too-short horizon shrinks the radius);
    - `converge_tol`, `near_tol`, `diverge_norm` (default $10^3(1 + \|y^*\| +
      r_{max})$), `rtol`, `atol`, `max_steps`: the simulation and the in-basin test (keep
      `rtol`, `atol` well below `converge_tol`: near $y^*$ an adaptive solver's error
      keeps $\|h\|$ at about the tolerance, and the run never counts as converged);
    - `distance(y, y_star) -> scalar`: how "near `y_star`" is measured (default the
      Euclidean distance; e.g. compare only the generator when the equilibria form a
      continuum in the discriminator);
    - `args`: passed to the field; `chunk_size`: directions per vmapped batch (memory;
      every batch is padded to it, so calls with one `chunk_size` share one compilation);
    - `progress`: print one line per bisection step on stderr.

    **Returns:** a `BasinRadius` (`radii`, `directions`, `hit_r_max`, `.summary()`).

    ```python
    s = gdgan.systems.get("lq", loss="wgan")
    b = gdgan.basin_radius(s.field(gdgan.GradientPenalty(0.5)), s.equilibrium,
                           directions=32, r_max=2.0)
    b.summary()   # {"min": ..., "median": ..., "max": ..., "hit_r_max": ...}
    ```
    """
    owner = "basin_radius"
    y_star, v_star = _state(owner, field, y_star, args)
    n = v_star.size
    r_max = check_number(r_max, owner, "r_max")
    tol = r_max / 256 if tol is None else check_number(tol, owner, "tol")
    chunk_size = check_int(chunk_size, owner, "chunk_size", allow_none=True)
    if isinstance(directions, (int, np.integer)) and not isinstance(directions, bool):
        k = check_int(directions, owner, "directions")
        key = jax.random.PRNGKey(0) if key is None else key
        d = np.asarray(jax.random.normal(key, (k, n), dtype=v_star.dtype))
        d = _unit_rows(owner, "directions", d, n)
    else:
        d = _unit_rows(owner, "directions", directions, n)
    opt = _options(
        owner,
        field,
        y_star,
        args,
        reach=r_max,
        t1=t1,
        converge_tol=converge_tol,
        near_tol=near_tol,
        diverge_norm=diverge_norm,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        distance=distance,
        scale=float(np.linalg.norm(v_star)) + r_max,
    )

    def inside(r):
        return _run(field, y_star, v_star + r[:, None] * d, args, opt, chunk_size)[1]

    k = d.shape[0]
    hit = inside(np.full(k, r_max))
    lo, hi = np.zeros(k), np.full(k, r_max)
    iterations = max(1, math.ceil(math.log2(r_max / tol)))
    if not np.all(hit):  # outside already at r = tol: radius 0 (skips the bisection)
        near = inside(np.full(k, min(tol, r_max)))
        hi = np.where(hit | near, hi, min(tol, r_max))
    for i in range(iterations):
        if np.all(hit | (hi - lo <= tol)):
            break
        mid = 0.5 * (lo + hi)
        ok = inside(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
        if progress:
            print(
                f"basin_radius: step {i + 1}/{iterations}, median radius in "
                f"[{np.median(lo):.4g}, {np.median(hi):.4g}]",
                file=sys.stderr,
            )
    radii = np.where(hit, r_max, lo)
    upper = np.where(hit, np.inf, hi)
    return BasinRadius(radii, upper, d, hit, r_max, tol, iterations)


# -- 2-D slice ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BasinSlice:
    """Result of `gdgan.basin_slice` (NumPy arrays; grids indexed `[i_b, i_a]`).

    - `a`, `b`: the coordinates along `u` and `v`; `u`, `v`: the unit plane vectors;
    - `outcome`: `gdgan.Outcome` codes; `outcome_name` (property) as strings; `names` the
      list of outcome names (`names[code]`);
    - `in_basin`: converged to `y_star` (within `near_tol`); `t_converge`: the time the
      run converged (NaN if it did not);
    - `y_star`: the flattened equilibrium.
    """

    a: np.ndarray
    b: np.ndarray
    u: np.ndarray
    v: np.ndarray
    outcome: np.ndarray
    in_basin: np.ndarray
    t_converge: np.ndarray
    y_star: np.ndarray
    names: tuple = tuple(OUTCOMES)

    @property
    def outcome_name(self):
        return np.asarray(self.names, dtype=object)[self.outcome].astype(str)


def basin_slice(
    field,
    y_star,
    u=None,
    v=None,
    *,
    extent=1.0,
    n=41,
    t1=None,
    converge_tol=1e-6,
    near_tol=1e-3,
    diverge_norm=None,
    rtol=1e-8,
    atol=1e-8,
    max_steps=16_384,
    distance=None,
    args=None,
    chunk_size=None,
) -> BasinSlice:
    r"""The basin of `y_star` on the plane $y^* + a u + b v$: outcome and time to converge
    on an `n` × `n` grid (one vmapped `gdgan.simulate`, `throw=False`).

    **Arguments:**

    - `field`, `y_star` as in `basin_radius`;
    - `u`, `v`: plane directions in flattened-state space (normalised; default the first
      two coordinates, i.e. the first two leaves' first entries, "disc" first);
    - `extent`: half-width $e$ (the square $[-e, e]^2$) or `(a_min, a_max, b_min, b_max)`;
      `n`: points per side;
    - the simulation and in-basin options as in `basin_radius`.

    **Returns:** a `BasinSlice` (`a`, `b`, `outcome`, `in_basin`, `t_converge`).

    ```python
    s = gdgan.systems.get("dirac", loss="wgan")
    sl = gdgan.basin_slice(s.field(gdgan.GradientPenalty(0.5)), s.equilibrium, extent=3.0)
    gdgan.plot.basin_slice(sl)
    ```
    """
    owner = "basin_slice"
    y_star, v_star = _state(owner, field, y_star, args)
    dim = v_star.size
    if dim < 2 and (u is None or v is None):
        raise InputError(f"{owner}: `y_star` needs at least 2 coordinates for a default plane")
    u = np.eye(dim)[0] if u is None else _unit_rows(owner, "u", u, dim)[0]
    v = np.eye(dim)[1] if v is None else _unit_rows(owner, "v", v, dim)[0]
    if abs(float(u @ v)) > 1 - 1e-9:
        raise InputError(f"{owner}: `v` must not be parallel to `u`")
    if isinstance(extent, (int, float, np.number)) and not isinstance(extent, bool):
        e = check_number(extent, owner, "extent")
        extent = (-e, e, -e, e)
    ext = np.asarray(extent, dtype=float) if np.ndim(extent) == 1 else None
    if (
        ext is None
        or ext.shape != (4,)
        or not np.all(np.isfinite(ext))
        or not (ext[1] > ext[0] and ext[3] > ext[2])
    ):
        raise InputError(
            f"{owner}: extent: expected a positive number or (a_min, a_max, "
            f"b_min, b_max) with min < max, got {extent!r}"
        )
    n = check_int(n, owner, "n")
    chunk_size = check_int(chunk_size, owner, "chunk_size", allow_none=True)
    opt = _options(
        owner,
        field,
        y_star,
        args,
        reach=float(np.max(np.abs(ext))) * math.sqrt(2),
        t1=t1,
        converge_tol=converge_tol,
        near_tol=near_tol,
        diverge_norm=diverge_norm,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        distance=distance,
        scale=float(np.linalg.norm(v_star)) + float(np.max(np.abs(ext))) * 2,
    )
    a = np.linspace(ext[0], ext[1], n)
    b = np.linspace(ext[2], ext[3], n)
    A, B = np.meshgrid(a, b)
    pts = v_star + A.reshape(-1, 1) * u + B.reshape(-1, 1) * v
    outcome, inside, t_conv = _run(field, y_star, pts, args, opt, chunk_size)
    shape = (n, n)
    return BasinSlice(
        a,
        b,
        u,
        v,
        outcome.reshape(shape).astype(int),
        inside.reshape(shape),
        np.where(inside, t_conv, np.nan).reshape(shape),
        v_star,
    )


# -- Lyapunov certificate ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LyapunovCertificate:
    r"""Result of `gdgan.lyapunov_certificate` (NumPy arrays, flattened state).

    - `P` `(n, n)`: the solution of $J^T P + P J = -I$ (symmetric positive definite);
    - `jacobian`: $J$ at `y_star`; `y_star`: the flattened equilibrium;
    - `level` $c$: $\dot V < 0$ at every sampled point of $\{0 < V \le c\}$;
    - `radius_lower`: $\sqrt{c / λ_{max}(P)}$, the largest ball inside the ellipsoid;
    - `limited_by_r_max`: no sampled point had $\dot V \ge 0$, so $c$ is the largest level
      inside the sampled ball of radius `r_max` (the true certified set may be larger);
    - `n_points`: how many points were checked.

    Methods: `V(points)` for `(m, n)` flattened points; `contains(points)`;
    `ellipse(u, v, n=256)`: the boundary of $\{V \le c\}$ on the plane $y^* + a u + b v$,
    as `(a, b)` arrays (for drawing on a `BasinSlice`).
    """

    P: Float[np.ndarray, "n n"]
    jacobian: Float[np.ndarray, "n n"]
    y_star: Float[np.ndarray, " n"]
    level: float
    radius_lower: float
    limited_by_r_max: bool
    r_max: float
    n_points: int

    def V(self, points):
        z = np.atleast_2d(np.asarray(points, dtype=float)) - self.y_star
        return np.einsum("mi,ij,mj->m", z, self.P, z)

    def contains(self, points):
        return self.V(points) <= self.level

    def ellipse(self, u, v, n=256):
        u, v = np.asarray(u, float), np.asarray(v, float)
        G = np.array([[u @ self.P @ u, u @ self.P @ v], [v @ self.P @ u, v @ self.P @ v]])
        phi = np.linspace(0, 2 * np.pi, n)
        w = np.stack([np.cos(phi), np.sin(phi)])
        s = np.sqrt(self.level / np.einsum("im,ij,jm->m", w, G, w))
        return s * w[0], s * w[1]


def solve_lyapunov(J, *, memory_budget=None):
    r"""$P$ with $J^T P + P J = -I$ (`gdgan._lyapunov.solve_continuous_lyapunov` on $J^T$:
    Bartels–Stewart, $O(n^3)$)."""
    J = jnp.asarray(J)
    eye = jnp.eye(J.shape[-1], dtype=J.dtype)
    return solve_continuous_lyapunov(
        J.T, eye, memory_budget=memory_budget, _owner="lyapunov_certificate", _names=("J", "I")
    )


@eqx.filter_jit
def _vdot(field, y_star, z, P, args):
    f, v, _ = flatten(field, y_star, 0.0, args)
    return jax.vmap(lambda zi: 2.0 * zi @ (P @ f(v + zi)))(z)


def lyapunov_certificate(
    field,
    y_star,
    *,
    n_samples=1024,
    n_shells=64,
    r_max=1.0,
    key=None,
    margin=1e-2,
    hurwitz_tol=1e-9,
    args=None,
    chunk_size=16_384,
    memory_budget=None,
) -> LyapunovCertificate:
    r"""A certified inner estimate of the basin of `y_star` from a quadratic Lyapunov
    function.

    With $J$ the Jacobian at $y^*$ (Hurwitz: every Re λ < −`hurwitz_tol`, else a
    `ValueError`), $P$ solves $J^T P + P J = -I$ and $V(y) = (y - y^*)^T P (y - y^*)$.
    $\dot V(y) = 2 (y - y^*)^T P\, h(y)$ is evaluated on `n_shells` ellipsoidal shells
    $V = c_j$, $c_j = c_{max} (j/n_{shells})^2$ with $c_{max} = λ_{min}(P)\, r_{max}^2$ (the
    largest level set inside the ball of radius `r_max`), `n_samples` random points on
    each. The level is $c = (1 - \mathrm{margin}) \min\{V(y) : \dot V(y) \ge 0\}$ over the
    samples (or $c_{max}$ if none). $\{V \le c\}$ is then positively invariant and inside the
    basin *up to the sampling* (a dense sample, not a proof). $P$ comes from
    Bartels–Stewart's $O(n^3)$ Schur method; a model whose dense $J$, eigenvalues and
    $P$ would not fit in `memory_budget` bytes (default: the memory available now) is
    refused with an `InputError` before anything is allocated.

    **Arguments:** `field`, `y_star`; `n_samples` (points per shell), `n_shells`, `r_max`,
    `key` (default `jax.random.PRNGKey(0)`), `margin`, `hurwitz_tol`, `args`,
    `chunk_size` (points per vmapped batch), `memory_budget`.

    **Returns:** a `LyapunovCertificate` (`P`, `level`, `radius_lower`, `ellipse(u, v)`).

    ```python
    s = gdgan.systems.get("lq", loss="gan")
    cert = gdgan.lyapunov_certificate(s.field(), s.equilibrium, r_max=2.0)
    cert.radius_lower   # every start this close to y* converges to it
    ```
    """
    owner = "lyapunov_certificate"
    y_star = as_arrays(check_state(y_star, "y_star"))
    leaves = jax.tree_util.tree_leaves(eqx.filter(y_star, eqx.is_inexact_array_like))
    n = sum(np.size(x) for x in leaves)
    check_memory(
        owner,
        "y_star",
        8 * n * n * 4 + lyapunov_bytes(n) + 8 * n * n_samples * 2,
        memory_budget,
        f"a dense {n} × {n} Jacobian, its eigenvalues and a Lyapunov solve",
        "gdgan.basin_radius (simulations only)",
    )
    y_star, v_star = _state(owner, field, y_star, args)
    n_samples = check_int(n_samples, owner, "n_samples")
    n_shells = check_int(n_shells, owner, "n_shells")
    chunk_size = check_int(chunk_size, owner, "chunk_size")
    r_max = check_number(r_max, owner, "r_max")
    margin = check_number(margin, owner, "margin")
    if margin >= 1:
        raise InputError(f"{owner}: `margin` must be in (0, 1), got {margin!r}")
    J = np.asarray(jacobian(field, y_star, args=args))
    eig = np.linalg.eigvals(J)
    if not np.max(eig.real) < -hurwitz_tol:
        raise InputError(
            f"{owner}: `y_star` is not exponentially stable (max Re λ = "
            f"{np.max(eig.real):.3g}); a quadratic Lyapunov function needs a "
            "Hurwitz Jacobian"
        )
    P = np.asarray(solve_lyapunov(J, memory_budget=memory_budget))
    lam = np.linalg.eigvalsh(P)
    c_max = lam[0] * r_max**2
    key = jax.random.PRNGKey(0) if key is None else key
    w = np.array(jax.random.normal(key, (n_samples, n), dtype=v_star.dtype))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    L = np.linalg.cholesky(P)
    unit = np.linalg.solve(L.T, w.T).T  # V(unit) = 1
    levels = c_max * (np.arange(1, n_shells + 1) / n_shells) ** 2
    z = (np.sqrt(levels)[:, None, None] * unit[None]).reshape(-1, n)
    Pj = jnp.asarray(P)
    vdot = map_chunks(lambda block: _vdot(field, y_star, block, Pj, args), z, chunk_size)
    V = np.repeat(levels, n_samples)
    bad = ~(vdot < 0)
    limited = not bool(np.any(bad))
    level = c_max if limited else float(np.min(V[bad])) * (1 - margin)
    return LyapunovCertificate(
        P, J, v_star, float(level), float(np.sqrt(level / lam[-1])), limited, r_max, int(z.shape[0])
    )
