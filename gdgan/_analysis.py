r"""Exact Jacobians of the field, spectra, stability verdicts and the paper's assumptions."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Complex, Float

from ._checks import InputError, check_finite_tree
from ._game import Game, check_state
from ._results import enum_name as enum_name
from ._tree import as_arrays, tree_norm
from ._tree import flatten as flatten


class Verdict(eqx.Enumeration):
    """Local stability of an equilibrium from the spectrum of $J = \\partial h/\\partial θ$."""

    stable = "every eigenvalue has Re λ < -tol: the point is locally exponentially stable"
    marginal = (
        "the rightmost eigenvalues have |Re λ| <= tol: the linearisation is inconclusive "
        "(a centre, a limit cycle or sub-exponential convergence are possible)"
    )
    unstable = "some eigenvalue has Re λ > tol: the point is unstable"


def verdict_from_max_real(max_real, tol):
    return Verdict.where(
        max_real < -tol,
        Verdict.stable,
        Verdict.where(max_real > tol, Verdict.unstable, Verdict.marginal),
    )


DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes of working memory beyond J, see `jacobian`


def available_memory() -> int:
    """Bytes of memory available to this process now (Linux `MemAvailable`, else the
    physical memory; 8 GiB when neither can be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_memory(owner, name, nbytes, memory_budget, what, alternative):
    """Raise an `InputError` naming `alternative` when `what` would need more than
    `memory_budget` bytes (default: `available_memory()`), before anything is allocated."""
    budget = available_memory() if memory_budget is None else memory_budget
    if nbytes > budget:
        raise InputError(
            f"{owner}: {name}: expected {what} within "
            f"{'the available' if memory_budget is None else 'memory_budget ='} "
            f"{budget / 2**30:.3g} GiB, got one needing ≈ {nbytes / 2**30:.3g} GiB; "
            f"use {alternative}"
        )


def _tangent_bytes(f, v, mode):
    """Bytes of work memory one basis direction needs in the linearised field: the summed
    sizes of the values of the linear (JVP) or transposed (VJP) program. An upper bound on
    what XLA keeps alive, cheap to compute, and valid under an outer trace."""
    if mode == "jvp":
        jaxpr = jax.make_jaxpr(lambda t: jax.linearize(f, v)[1](t))(v).jaxpr
    else:
        jaxpr = jax.make_jaxpr(lambda t: jax.vjp(f, v)[1](t))(v).jaxpr
    total = 0
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            aval = getattr(var, "aval", None)
            itemsize = getattr(getattr(aval, "dtype", None), "itemsize", None)
            if hasattr(aval, "shape") and isinstance(itemsize, int):
                total += int(np.prod(aval.shape, dtype=np.int64)) * itemsize
    return max(total, 4 * v.size * v.dtype.itemsize)


def auto_chunk_size(f, v, memory_budget=None, mode="jvp") -> int:
    """The number of basis directions per block so that one block's work memory stays within
    `memory_budget` bytes (default: the size of $J$, clamped to [64 MiB, 1 GiB])."""
    n = v.size
    if n <= 64 and memory_budget is None:  # tiny systems: one block, like jax.jacfwd
        return n
    if memory_budget is None:
        memory_budget = min(max(n * n * v.dtype.itemsize, 64 << 20), DEFAULT_MEMORY_BUDGET)
    per = _tangent_bytes(f, v, mode)
    return int(max(1, min(n, memory_budget // per)))


def jacobian(
    field, y, *, chunk_size=None, memory_budget=None, mode="vjp", t=0.0, args=None
) -> Float[Array, "n n"]:
    r"""The exact Jacobian $J = \partial h/\partial θ$ of the flattened field at `y`, built
    block by block so that memory stays bounded for large models.

    The field is linearised once (`jax.linearize` for `mode="jvp"`, `jax.vjp` for
    `mode="vjp"`); a compiled loop then pushes `chunk_size` basis vectors at a time through
    the linear map (a `vmap` of JVPs gives a block of columns, of VJPs a block of rows) and
    writes the block into $J$ in place. Peak memory is $J$ plus one block's work,
    O(`chunk_size` · work per direction). The last block overlaps the previous one instead
    of being padded, so any `chunk_size` works. The result equals `jax.jacfwd` to round-off.

    **Arguments:**

    - `field(t, y, args)` and the state `y`;
    - `chunk_size`: basis directions per block; `None` picks the largest block whose work
      memory fits `memory_budget`;
    - `memory_budget`: bytes of work memory beyond $J$ (default: the size of $J$, at least
      64 MiB and at most 1 GiB);
    - `mode`: `"vjp"` (rows, reverse-over-reverse; measured fastest on CPU, see
      `benchmarks/README.md`) or `"jvp"` (columns, forward-over-reverse);
    - `t`, `args`: passed to the field.

    A Jacobian larger than the memory available now raises an `InputError` that names the
    matrix-free alternative, before anything is allocated.

    **Returns:** an `(n, n)` array, rows and columns in `ravel_pytree(y)` order.

    ```python
    J = gdgan.jacobian(field, y_star, chunk_size=64)
    ```
    """
    if mode not in ("jvp", "vjp"):
        raise InputError(f"jacobian: `mode` must be 'jvp' or 'vjp', got {mode!r}")
    f, v, _ = flatten(field, y, t, args)
    n = v.size
    check_memory(
        "jacobian",
        "y",
        n * n * v.dtype.itemsize,
        None,
        f"a dense {n} × {n} Jacobian",
        "gdgan.rightmost_eigenvalues (matrix-free: products with J only)",
    )
    if chunk_size is None:
        chunk_size = auto_chunk_size(f, v, memory_budget, mode)
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or int(chunk_size) < 1:
        raise InputError(f"jacobian: `chunk_size` must be a positive integer, got {chunk_size!r}")
    return _jacobian_blocks(field, y, min(int(chunk_size), n), mode, t, args)


@eqx.filter_jit
def _jacobian_blocks(field, y, c, mode, t, args):
    """The block loop, compiled as a whole: $J$'s buffer is created inside the program and
    updated in place (called eagerly, a `fori_loop` would copy its initial value into a
    second $n \times n$ buffer)."""
    f, v, _ = flatten(field, y, t, args)
    n = v.size
    if mode == "jvp":
        _, lin = jax.linearize(f, v)
        block = jax.vmap(lin)  # (c, n) basis rows -> (c, n): J columns, as rows
    else:
        _, vjp = jax.vjp(f, v)
        block = jax.vmap(lambda e: vjp(e)[0])  # (c, n) -> (c, n): J rows
    n_blocks = -(-n // c)

    def basis(start):
        return (jnp.arange(n)[None, :] == (start + jnp.arange(c))[:, None]).astype(v.dtype)

    if n_blocks == 1:
        B = block(basis(0))
        return B.T if mode == "jvp" else B

    def body(i, J):
        start = jnp.minimum(i * c, n - c)
        B = block(basis(start))
        if mode == "jvp":
            return jax.lax.dynamic_update_slice(J, B.T, (0, start))
        return jax.lax.dynamic_update_slice(J, B, (start, 0))

    return jax.lax.fori_loop(0, n_blocks, body, jnp.zeros((n, n), v.dtype))


def sort_by_real(eigenvalues):
    """Eigenvalues sorted by real part, largest first (ties: larger imaginary part first)."""
    order = jnp.lexsort((-eigenvalues.imag, -eigenvalues.real))
    return eigenvalues[order]


def max_stable_step_of(eigenvalues, tol=0.0):
    r"""Largest α with ρ(I + αJ) < 1: $\min_λ 2|\mathrm{Re}\,λ|/|λ|^2$ when every
    Re λ < -tol, else 0."""
    re = eigenvalues.real
    abs2 = jnp.abs(eigenvalues) ** 2
    ok = jnp.max(re) < -tol
    ratio = jnp.where(abs2 > 0, -2 * re / jnp.where(abs2 > 0, abs2, 1.0), jnp.inf)
    return jnp.where(ok, jnp.min(ratio), 0.0)


class StabilityReport(eqx.Module):
    """Result of `gdgan.stability`.

    - `jacobian`: `(n, n)` exact Jacobian of the flattened field;
    - `eigenvalues`: `(n,)` complex, sorted by real part, largest first;
    - `verdict`: a `gdgan.Verdict` item;
    - `max_stable_step`: largest α with ρ(I + αJ) < 1 (0 if none);
    - `max_real` (property): the spectral abscissa.
    """

    jacobian: Float[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    verdict: Verdict
    max_stable_step: Float[Array, ""]

    @property
    def max_real(self):
        return jnp.max(self.eigenvalues.real)

    @property
    def verdict_name(self):
        return enum_name(Verdict, self.verdict)


def stability(field, y, *, tol=1e-9, chunk_size=None, t=0.0, args=None) -> StabilityReport:
    r"""Local stability of the flow $\dot θ = h(θ)$ at `y` from the exact Jacobian.

    **Arguments:** `field`, state `y` (normally an equilibrium); `tol`: eigenvalues with
    $|\mathrm{Re}\,λ| \le$ `tol` count as on the imaginary axis; `chunk_size` as in
    `gdgan.jacobian`. A model whose $J$ and eigendecomposition do not fit in the memory
    available now is refused (`InputError`) with the matrix-free alternative named.

    **Returns:** a `StabilityReport`.

    ```python
    rep = gdgan.stability(field, {"disc": {"w": jnp.array(0.0)}, "gen": {"a": jnp.array(1.0)}})
    rep.verdict == gdgan.Verdict.stable
    ```
    """
    check_finite_tree(y, "stability", "y")
    _, v, _ = flatten(field, y, t, args)  # structural checks with readable errors
    n = v.size
    check_memory(  # J, its copy inside the eigensolver, the complex eigenvalue work
        "stability",
        "y",
        4 * n * n * v.dtype.itemsize,
        None,
        f"a dense {n} × {n} Jacobian and its eigendecomposition",
        "gdgan.rightmost_eigenvalues or gdgan.spectral_abscissa (matrix-free)",
    )
    return _stability(field, y, tol, chunk_size, t, args)


@eqx.filter_jit
def _stability(field, y, tol, chunk_size, t, args):
    J = jacobian(field, y, chunk_size=chunk_size, t=t, args=args)
    eig = sort_by_real(jnp.linalg.eigvals(J))
    max_real = jnp.max(eig.real)
    return StabilityReport(
        jacobian=J,
        eigenvalues=eig,
        verdict=verdict_from_max_real(max_real, tol),
        max_stable_step=max_stable_step_of(eig, tol),
    )


class Assumptions(eqx.Module):
    r"""The quantities of Nagarajan & Kolter's Theorem 3.1 and Lemma at a point `y`.

    Blocks (flattened, "disc" first): $K_{DD} = \nabla^2_{θ_D} V$, $K_{DG} =
    \nabla_{θ_G}\nabla_{θ_D} V$ (shape `(n_D, n_G)`), $K_{GG} = \nabla^2_{θ_G} V$. With
    $Q = -K_{DD}$ and $P = K_{DG}$ the Lemma bounds eigenvalues of $[[-Q, P], [-P^T, 0]]$.
    Scalars are arrays, so the object works under `jit`.
    """

    K_DD: Float[Array, "n_d n_d"]
    K_DG: Float[Array, "n_d n_g"]
    K_GG: Float[Array, "n_g n_g"]
    f_prime: Float[Array, ""]  # f'(0), NaN for games without f
    f_second: Float[Array, ""]  # f''(0)
    lam_min_Q: Float[Array, ""]
    lam_max_Q: Float[Array, ""]
    sigma_min_P: Float[Array, ""]
    field_residual: Float[Array, ""]  # ‖h(y)‖ without regularizers
    d_residual: Float[Array, ""]  # max |D(x)| over data and generated points
    moment_residual: Float[Array, ""]  # max |E x - E G(z)|, |E x² - E G(z)²|
    tol: float = eqx.field(static=True)

    @property
    def concave_f(self):
        return self.f_second < -self.tol

    @property
    def fprime_nonzero(self):
        return jnp.abs(self.f_prime) > self.tol

    @property
    def kdd_negative_definite(self):
        return self.lam_min_Q > self.tol

    @property
    def kdg_full_column_rank(self):
        return self.sigma_min_P > self.tol

    @property
    def realisable(self):
        return jnp.maximum(
            self.field_residual, jnp.maximum(self.d_residual, self.moment_residual)
        ) <= jnp.sqrt(self.tol)

    @property
    def holds(self):
        return (
            self.concave_f
            & self.fprime_nonzero
            & self.kdd_negative_definite
            & self.kdg_full_column_rank
            & self.realisable
        )

    @property
    def bounds(self) -> dict:
        """The Lemma's bounds (meaningful when Q ≻ 0 and P has full column rank)."""
        lmin, lmax, s2 = self.lam_min_Q, self.lam_max_Q, self.sigma_min_P**2
        return {
            "complex_re_lower": -lmax / 2,
            "complex_re_upper": -lmin / 2,
            "real_upper": -jnp.minimum(lmin, s2 / lmax),
            "real_upper_weak": -lmin * s2 / (lmax * lmin + s2),
        }

    def respects_bounds(self, eigenvalues, atol=1e-9):
        """Whether every eigenvalue lies within the Lemma's bounds (to `atol`)."""
        b = self.bounds
        is_complex = jnp.abs(eigenvalues.imag) > atol
        re = eigenvalues.real
        ok_c = (re >= b["complex_re_lower"] - atol) & (re <= b["complex_re_upper"] + atol)
        ok_r = re <= b["real_upper"] + atol
        return jnp.all(jnp.where(is_complex, ok_c, ok_r))

    @property
    def conditions(self) -> dict:
        return {
            "f''(0) < 0": self.concave_f,
            "f'(0) != 0": self.fprime_nonzero,
            "K_DD negative definite": self.kdd_negative_definite,
            "K_DG full column rank": self.kdg_full_column_rank,
            "realisable equilibrium": self.realisable,
        }


def assumptions(game, y, *, tol=1e-9) -> Assumptions:
    r"""Check the assumptions of Nagarajan & Kolter (2017), Theorem 3.1, at `y`.

    **Returns:** `Assumptions` with $K_{DD}$, $K_{DG}$, $K_{GG}$, $f'(0)$, $f''(0)$,
    extreme eigenvalues of $Q = -K_{DD}$, $σ_{\min}(K_{DG})$, the realisability residuals,
    the conditions (`.conditions`, `.holds`) and the Lemma's bounds (`.bounds`).

    ```python
    a = gdgan.assumptions(game, y_star)
    a.holds, a.bounds, a.respects_bounds(gdgan.stability(field, y_star).eigenvalues)
    ```
    """
    y = as_arrays(check_state(y))
    check_finite_tree(y, "assumptions", "y")
    return _assumptions(game, y, tol)


@eqx.filter_jit
def _assumptions(game, y, tol):
    from ._field import vector_field

    params, static = eqx.partition(y, eqx.is_inexact_array)
    vd, un_d = ravel_pytree(params["disc"])
    vg, un_g = ravel_pytree(params["gen"])

    def V(d, g):
        return game.value(eqx.combine({"disc": un_d(d), "gen": un_g(g)}, static))

    K_DD = jax.hessian(V, 0)(vd, vg)
    K_DG = jax.jacfwd(jax.grad(V, 0), 1)(vd, vg)
    K_GG = jax.hessian(V, 1)(vd, vg)
    q = jnp.linalg.eigvalsh(-(K_DD + K_DD.T) / 2) if vd.size else jnp.zeros((1,))
    n_d, n_g = K_DG.shape
    sing = jnp.linalg.svd(K_DG, compute_uv=False) if min(n_d, n_g) else jnp.zeros((1,))
    sigma_min = sing[-1] if n_d >= n_g and n_g > 0 else jnp.zeros((), vd.dtype)

    f = getattr(getattr(game, "loss", None), "f", None)
    nan = jnp.full((), jnp.nan, vd.dtype)
    zero = jnp.zeros((), vd.dtype)
    f1 = jax.grad(f)(zero) if f is not None else nan
    f2 = jax.grad(jax.grad(f))(zero) if f is not None else nan

    h = vector_field(game)(0.0, y, None)
    field_res = tree_norm(h)
    if isinstance(game, Game):
        d_real, wx, d_fake, wz = game.logits(y)
        d_res = jnp.maximum(jnp.max(jnp.abs(d_real)), jnp.max(jnp.abs(d_fake)))
        (x, _), (z, _) = game.rules()
        fake = jax.vmap(lambda s: game.G(y["gen"], s))(z)
        mom = lambda pts, w: (  # noqa: E731
            jnp.tensordot(w, pts, 1),
            jnp.tensordot(w, pts**2, 1),
        )
        (m1, m2), (g1, g2) = mom(x, wx), mom(fake, wz)
        mom_res = jnp.maximum(jnp.max(jnp.abs(m1 - g1)), jnp.max(jnp.abs(m2 - g2)))
    else:
        d_res = mom_res = nan
    return Assumptions(
        K_DD=K_DD,
        K_DG=K_DG,
        K_GG=K_GG,
        f_prime=f1,
        f_second=f2,
        lam_min_Q=q[0],
        lam_max_Q=q[-1],
        sigma_min_P=sigma_min,
        field_residual=field_res,
        d_residual=d_res,
        moment_residual=mom_res,
        tol=tol,
    )
