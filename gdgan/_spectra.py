r"""Matrix-free spectra of the field's Jacobian: the rightmost eigenvalues, the spectral
abscissa, the spectral radius of the simultaneous-gradient update $I + αJ$ and the largest
stable step, for models far too large for a dense $J$.

Only Jacobian-vector products are used: the field is linearised once at `y`
(`jax.linearize`, forward-over-reverse for a gradient field), and a jitted product
$v \mapsto Jv$ drives a Krylov–Schur iteration (Stewart 2001) on the host. $J$ is never
formed; memory is $n \times$ (`ncv` + 1) numbers for the Krylov basis plus the
linearisation.

**Why plain Krylov–Schur on $J$ and no transform.** The rightmost eigenvalues are extreme
points of the spectrum in the direction of the real axis, so a Krylov space of $J$ itself
resolves them: each restart keeps the Schur vectors of the `ncv // 2`-odd rightmost Ritz
values ("exact shifts"), which filters out the far-left eigenvalues (large negative real
parts, the discriminator's curvature) at the cost of one product per basis vector. A
transform such as $e^{τJ}$ orders eigenvalues exactly by real part, but one product with it
by explicit time stepping costs $\sim τ\,ρ(J)$ products with $J$, and the Krylov polynomial
of $J$ is already the optimal filter of that degree; a Cayley or shift-invert transform
needs a linear solve (GMRES) per product. The selection rule is a parameter, which gives
the update operator's spectral radius (largest $|1 + αθ|$) and the largest stable step
(largest $\mathrm{Re}(1/θ)$) from the same iteration.

**Cost at scale.** Each step costs one product with $J$ and a Gram–Schmidt
orthogonalisation against the basis; the second Gram–Schmidt pass runs only when the first
removed more than ~30 % of the vector's norm (the DGKS test ARPACK uses), about half of the
steps on ring GANs. At $n \sim 10^6$ one pass reads the whole basis twice, which costs as
much as a product, so the basis reads and the products share the time.
`jvp_dtype="float32"` evaluates the products on float32 copies of the state and of the
field's own constants (a float32 product is 2–2.6× faster than a float64 one on ring GANs
of 10⁵–10⁶ parameters, `benchmarks/README.md`) while the basis, the orthogonalisation and
the projected matrix stay float64; its round-off (relative ~3e-7 per product) bounds `tol`
below by `1e-6`.

**Convergence criterion.** A Ritz pair $(θ, x = V_m s)$ of the Krylov decomposition
$J V_m = V_m H_m + f e_m^T$ has residual $\lVert Jx - θx\rVert = \lVert f\rVert\,|e_m^T s|$
(with $\lVert s\rVert = 1$). The `k` wanted pairs are converged when every residual is at
most `tol` $\cdot \max_j \lVert J v_j\rVert$ (a lower bound on $\lVert J\rVert$). On return the
residuals are recomputed explicitly as $\lVert Jx - θx\rVert / \lVert x\rVert$ with two
more products per pair, so a reported residual never relies on the recurrence. For a
well-conditioned eigenvalue the error is about the residual; clustered or defective ones
can be less accurate (the residual is still the honest measure).

**Limits.** Convergence slows with the ratio of the rightmost gap to the spread of the
spectrum: e.g. real eigenvalues packed within $10^{-4}$ of 0 next to $-100$ took a few
thousand products with `ncv = 100` and did not converge with `ncv = 40`. A small residual
certifies an eigenpair, not that no eigenvalue lies further right: when the wanted values
hide inside a near-imaginary cluster whose extreme-$|\mathrm{Im}|$ members converge first,
raise `ncv` or compare two `seed`s.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ._analysis import check_memory, flatten
from ._checks import InputError, check_finite_tree

METHODS = ("krylov-schur", "arpack")


class Eigenvalues(eqx.Module):
    """Result of `gdgan.rightmost_eigenvalues` (host NumPy arrays).

    - `eigenvalues`: `(k,)` complex, sorted by the selection rule (for the rightmost: real
      part, largest first);
    - `residuals`: `(k,)` explicit relative residuals $\\lVert Jx - λx\\rVert / \\lVert x
      \\rVert$;
    - `eigenvectors`: `(n, k)` complex unit vectors in `ravel_pytree(y)` order, or `None`;
    - `converged`: `(k,)` bool, residual $\\le$ `tol` $\\cdot$ `scale`;
    - `scale`: the estimate of $\\lVert J\\rVert$ the tolerance is relative to;
    - `n_matvecs`, `n_restarts`: work done; `method`: the method used.
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    eigenvectors: np.ndarray | None
    converged: np.ndarray
    scale: float
    n_matvecs: int
    n_restarts: int
    method: str = eqx.field(static=True)

    @property
    def max_real(self) -> float:
        return float(np.max(self.eigenvalues.real))

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))


# ---------------------------------------------------------------------------------------
@eqx.filter_jit
def _linearized(field, y, t, args):
    f, v, _ = flatten(field, y, t, args)
    return v, jax.linearize(f, v)[1]  # a Partial holding the residuals


@eqx.filter_jit
def _apply(lin, x):
    return lin(x)


def _low_precision(y, dtype):
    """`y` (a state or a field) with its floating array leaves cast to `dtype`. A field's
    constants must be cast too: one float64 constant (e.g. the Monte Carlo samples) would
    promote every product back to float64. Constants a plain function closes over are not
    visible here and keep their type."""
    return jax.tree_util.tree_map(
        lambda a: (
            a.astype(dtype)
            if eqx.is_inexact_array(a) and jnp.issubdtype(a.dtype, jnp.floating)
            else a
        ),
        y,
    )


def _linearized_in(field, y, t, args, jvp_dtype=None):
    """`_linearized` on copies of the state and of the field's own constants (a module's
    leaves) in `jvp_dtype` (default: as they are)."""
    if jvp_dtype is not None:
        y = _low_precision(y, jnp.dtype(jvp_dtype))
        field = _low_precision(field, jnp.dtype(jvp_dtype))
    return _linearized(field, y, t, args)


def _matvec_of(field, y, t, args, jvp_dtype=None):
    """`(matvec, n, dtype)`: host `v -> J v` (float64 in and out) from one linearisation
    of the flattened field, evaluated in `jvp_dtype` (default: the state's own). Both steps
    are compiled once per field structure (a second state, e.g. the next training
    snapshot, reuses them: the cached trace returns the same linear function)."""
    v, lin = _linearized_in(field, y, t, args, jvp_dtype)

    def matvec(x):
        return np.asarray(_apply(lin, jnp.asarray(x, dtype=v.dtype)), dtype=np.float64)

    return matvec, v.size, v.dtype


def _keys(select, lr):
    """Selection scores, larger = more wanted; equal for complex-conjugate pairs."""
    if select == "rightmost":
        return lambda th: np.real(th)
    if select == "update":
        return lambda th: np.abs(1.0 + lr * th)
    if select == "step":  # largest Re(1/θ) = smallest 2|Re θ|/|θ|² (θ = 0 -> +inf)

        def key(th):
            th = np.asarray(th, dtype=complex)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.real(1.0 / th)
            return np.where(th == 0, np.inf, out)

        return key
    raise InputError(f"select: expected 'rightmost', 'update' or 'step', got {select!r}")


def _order(theta, key):
    """Indices sorting Ritz values by key (largest first), ties: larger imaginary first."""
    return np.lexsort((-np.imag(theta), -key(theta)))


_DGKS = 1 / np.sqrt(2)


def _orthogonalize(V, j, w):
    """`(h, w, beta, passes)`: `w` made orthogonal to the rows `V[:j + 1]` by classical
    Gram–Schmidt, with a second pass only when the first removed more than ~30 % of its
    norm (the DGKS criterion, as in ARPACK). Each pass reads the basis twice: at
    n ~ 10⁶ a pass over 60 vectors costs about as much as one product with $J$."""
    Vj = V[: j + 1]
    norm0 = np.linalg.norm(w)
    h = Vj @ w
    w = w - Vj.T @ h
    beta = np.linalg.norm(w)
    passes = 1
    if beta < _DGKS * norm0:
        h2 = Vj @ w
        w = w - Vj.T @ h2
        h = h + h2
        beta = np.linalg.norm(w)
        passes = 2
    return h, w, beta, passes


def _krylov_schur(matvec, n, k, key, *, ncv, tol, max_restarts, v0, stats=None):
    """Krylov–Schur with a selection key. Returns `(theta, X, res_est, scale, n_mv,
    restarts)`, `X` the `(n, k)` Ritz vectors (complex). `stats`, a dict, receives the
    number of Gram–Schmidt passes."""
    m = min(ncv, n)
    V = np.zeros((m + 1, n))
    H = np.zeros((m + 1, m))
    V[0] = v0 / np.linalg.norm(v0)
    rng = np.random.default_rng(0)
    p = 0
    n_mv = 0
    passes = 0
    reads = 0  # basis vectors read by Gram–Schmidt and restarts (the memory traffic)
    restarts = 0
    while True:
        for j in range(p, m):
            h, w, beta, npass = _orthogonalize(V, j, matvec(V[j]))
            n_mv += 1
            passes += npass
            reads += 2 * npass * (j + 1)
            H[: j + 1, j] = h
            H[j + 1, j] = beta
            if j + 1 >= n:
                V[j + 1] = 0.0
                H[j + 1, j] = 0.0
                continue
            if beta <= 1e-12 * max(np.linalg.norm(H[: j + 2, : j + 1]), 1e-300):
                # invariant subspace: continue with a fresh direction orthogonal to V
                H[j + 1, j] = 0.0
                for _ in range(3):
                    r = rng.standard_normal(n)
                    r -= V[: j + 1].T @ (V[: j + 1] @ r)
                    r -= V[: j + 1].T @ (V[: j + 1] @ r)
                    if np.linalg.norm(r) > 1e-8:
                        break
                V[j + 1] = r / np.linalg.norm(r)
            else:
                V[j + 1] = w / beta
        Hm = H[:m, :m]
        theta, S = scipy.linalg.eig(Hm)
        # max ‖J v_j‖ over the basis: a lower bound on ‖J‖, cheap
        scale = max(float(np.max(np.linalg.norm(H[: m + 1, :m], axis=0))), np.finfo(float).tiny)
        S = S / np.linalg.norm(S, axis=0)
        res = np.abs(H[m, m - 1]) * np.abs(S[m - 1])
        order = _order(theta, key)
        want = order[: min(k, m)]
        done = bool(np.all(res[want] <= tol * scale))
        if done or restarts >= max_restarts or m >= n:
            if stats is not None:
                stats["gram_schmidt_passes"] = passes
                stats["basis_reads"] = reads + m
            X = V[:m].T @ S[:, want]
            return theta[want], X, res[want], scale, n_mv, restarts
        # keep the Schur vectors of the p rightmost (by key) Ritz values
        p_keep = max(k + (m - k) // 2, k + 1)
        p_keep = min(p_keep, m - 1)
        keys = key(theta)
        thr = np.sort(keys)[::-1][p_keep - 1]
        slack = 1e-12 * max(abs(thr), 1.0) if np.isfinite(thr) else 0.0
        T, Z, sdim = scipy.linalg.schur(
            Hm,
            output="real",
            sort=lambda re, im: bool(key(np.array([re + 1j * im]))[0] >= thr - slack),
        )
        p = int(sdim)
        if p >= m:  # every Ritz value ties: keep all but the last column
            p = m - 1
        if p == 0:
            p = 1
        b = H[m, m - 1] * Z[m - 1, :p]
        V[:p] = Z[:, :p].T @ V[:m]
        reads += m
        V[p] = V[m]
        H[:] = 0.0
        H[:p, :p] = T[:p, :p]
        H[p, :p] = b
        restarts += 1


def _arpack(matvec, n, k, key, *, ncv, tol, max_restarts, v0):
    import scipy.sparse.linalg as spla

    count = [0]

    def mv(x):
        count[0] += 1
        return matvec(np.asarray(x).ravel())

    op = spla.LinearOperator((n, n), matvec=mv, dtype=np.float64)
    theta, X = spla.eigs(
        op,
        k=k,
        which="LR",
        v0=v0,
        ncv=min(max(ncv, 2 * k + 1), n - 1),
        tol=tol,
        maxiter=max_restarts * max(ncv, 1),
    )
    return theta, X, np.full(k, np.nan), np.nan, count[0], -1


def _explicit_residuals(matvec, theta, X):
    r"""`(‖Jx - θx‖ per column, products used)`, with $J(x_r + i x_i) = Jx_r + iJx_i$: a
    real vector needs one product, and the conjugate of a pair already done none
    ($J\bar x = \overline{Jx}$)."""
    res = np.empty(X.shape[1])
    done = {}
    count = 0
    for i in range(X.shape[1]):
        x, th = X[:, i], theta[i]
        for j, (thj, xj, r) in done.items():
            if np.isclose(th, np.conj(thj), rtol=0, atol=1e-14 * max(abs(th), 1.0)) and (
                np.allclose(x, np.conj(xj), rtol=0, atol=1e-12)
            ):
                res[i] = r
                break
        else:
            if np.any(x.imag):
                Jx = matvec(x.real) + 1j * matvec(x.imag)
                count += 2
            else:
                Jx = matvec(x.real).astype(complex)
                count += 1
            res[i] = np.linalg.norm(Jx - th * x)
            done[i] = (th, x, res[i])
    return res, count


def _solve(
    matvec,
    n,
    k,
    select,
    lr,
    *,
    method,
    ncv,
    tol,
    max_restarts,
    v0,
    return_eigenvectors,
    seed,
    stats=None,
):
    if isinstance(k, bool) or int(k) != k or not 1 <= int(k) <= n:
        raise InputError(
            f"rightmost_eigenvalues: `k` must be an integer in [1, n = {n}], got {k!r}"
        )
    k = int(k)
    if method not in METHODS:
        raise InputError(
            f"rightmost_eigenvalues: `method` must be one of {METHODS}, got {method!r}"
        )
    if not tol > 0:
        raise InputError(f"rightmost_eigenvalues: `tol` must be positive, got {tol!r}")
    if ncv is None:  # a 512 MiB basis at most, 100 vectors for small models
        ncv = int(np.clip((1 << 29) // (8 * n), 2 * k + 20, 100))
    if int(ncv) <= k:
        raise InputError(f"rightmost_eigenvalues: `ncv` must exceed k = {k}, got {ncv!r}")
    check_memory(
        "rightmost_eigenvalues",
        "ncv",
        (int(ncv) + 2) * n * 8 * 2,  # the basis and the restart's rotated copy
        None,
        f"a Krylov basis of {int(ncv)} vectors of size {n}",
        "a smaller ncv",
    )
    key = _keys(select, lr)
    if v0 is None:
        v0 = np.random.default_rng(seed).standard_normal(n)
    v0 = np.asarray(v0, dtype=np.float64).reshape(n)
    if method == "arpack":
        if select != "rightmost" or k >= n - 1:
            raise InputError("rightmost_eigenvalues: `method` 'arpack' needs k < n - 1")
        theta, X, _, scale, n_mv, restarts = _arpack(
            matvec, n, k, key, ncv=int(ncv), tol=tol, max_restarts=max_restarts, v0=v0
        )
    else:
        theta, X, _, scale, n_mv, restarts = _krylov_schur(
            matvec, n, k, key, ncv=int(ncv), tol=tol, max_restarts=max_restarts, v0=v0, stats=stats
        )
    order = _order(theta, key)
    theta, X = theta[order], X[:, order]
    X = X / np.linalg.norm(X, axis=0)
    res, n_explicit = _explicit_residuals(matvec, theta, X)
    n_mv += n_explicit
    if not np.isfinite(scale):
        scale = float(np.max(np.abs(theta))) or 1.0
    return Eigenvalues(
        eigenvalues=np.asarray(theta, dtype=complex),
        residuals=res,
        eigenvectors=X if return_eigenvectors else None,
        converged=res <= max(tol, 100 * np.finfo(float).eps) * scale,
        scale=float(scale),
        n_matvecs=int(n_mv),
        n_restarts=int(restarts),
        method=method,
    )


JVP_DTYPES = (None, "float32", "float64")
MIN_TOL_FLOAT32 = 1e-6


def _tol(tol, jvp_dtype):
    """The tolerance for products in `jvp_dtype` (checked: float32 cannot resolve less)."""
    if jvp_dtype not in JVP_DTYPES and jvp_dtype not in (jnp.float32, jnp.float64):
        raise InputError(
            f"rightmost_eigenvalues: jvp_dtype: expected None, 'float32' or 'float64', "
            f"got {jvp_dtype!r}"
        )
    low = jvp_dtype is not None and jnp.dtype(jvp_dtype) == jnp.float32
    if tol is None:
        return MIN_TOL_FLOAT32 if low else 1e-10
    if low and not tol >= MIN_TOL_FLOAT32:
        raise InputError(
            f"rightmost_eigenvalues: tol: expected >= {MIN_TOL_FLOAT32} with float32 "
            f"products (their round-off), got {tol!r}"
        )
    return tol


def _prepare(field, y, name):
    check_finite_tree(y, name, "y")


def rightmost_eigenvalues(
    field,
    y,
    k=6,
    *,
    method="krylov-schur",
    tol=None,
    ncv=None,
    max_restarts=300,
    v0=None,
    seed=0,
    return_eigenvectors=False,
    jvp_dtype=None,
    t=0.0,
    args=None,
) -> Eigenvalues:
    r"""The `k` eigenvalues of largest real part of $J = \partial h/\partial θ$ at `y`,
    matrix-free (Jacobian-vector products only; $J$ is never formed).

    The method (see the module docstring) is Krylov–Schur on $J$ with exact shifts keeping
    the rightmost Ritz values; it stops when every wanted Ritz pair has residual
    $\lVert Jx - θx\rVert \le$ `tol` $\cdot \max_j\lVert Jv_j\rVert$. The returned residuals are
    recomputed explicitly. `method="arpack"` uses `scipy.sparse.linalg.eigs(which="LR")` on
    the same product instead (ARPACK's own relative criterion).

    **Arguments:**

    - `field(t, y, args)`, state `y` (any point, not only an equilibrium);
    - `k`: how many eigenvalues (a complex pair counts as two);
    - `method`: `"krylov-schur"` or `"arpack"`;
    - `tol`: residual tolerance relative to $\lVert J\rVert$ (default `1e-10`, `1e-6`
      with float32 products);
    - `ncv`: Krylov basis size (default 100, fewer when the basis would exceed 512 MiB, at
      least `2k + 20`); memory is `ncv · n` numbers;
    - `max_restarts`: cap on restarts (non-converged pairs are flagged, not raised);
    - `v0`, `seed`: starting vector (default: Gaussian from `seed`);
    - `return_eigenvectors`: also return unit eigenvectors `(n, k)`;
    - `jvp_dtype`: `None` (the state's dtype) or `"float32"`: the products with $J$ are
      evaluated in float32 on copies of the state and of the field's constants (the
      floating leaves of a field that is a module, e.g. `gdgan.vector_field`'s; constants
      a plain function closes over keep their type, and a float64 one keeps the products
      in float64), while the basis, the orthogonalisation and the projected matrix stay
      float64. The products' round-off (relative ~3e-7) bounds what can be resolved:
      `tol` must be at least `1e-6`; on the penalised ring GAN of 10⁵ parameters the
      eigenvalues moved by 2.4e-8 (1e-7 relative);
    - `t`, `args`: passed to the field.

    **Returns:** an `Eigenvalues` object (eigenvalues sorted by real part, largest first,
    residuals, `converged`, `n_matvecs`, `method`).

    ```python
    sys = gdgan.systems.get("ring", width=512)
    res = gdgan.rightmost_eigenvalues(sys.field(), sys.init, k=6)
    res.eigenvalues, res.residuals, res.n_matvecs
    ```
    """
    _prepare(field, y, "rightmost_eigenvalues")
    tol = _tol(tol, jvp_dtype)
    matvec, n, _ = _matvec_of(field, y, t, args, jvp_dtype)
    return _solve(
        matvec,
        n,
        k,
        "rightmost",
        None,
        method=method,
        ncv=ncv,
        tol=tol,
        max_restarts=max_restarts,
        v0=v0,
        return_eigenvectors=return_eigenvectors,
        seed=seed,
    )


def spectral_abscissa(field, y, *, k=2, **kwargs) -> float:
    r"""$\max_λ \mathrm{Re}\,λ(J)$ at `y`, matrix-free (`rightmost_eigenvalues` with `k`).

    ```python
    gdgan.spectral_abscissa(field, y_star) < 0   # locally exponentially stable
    ```
    """
    return rightmost_eigenvalues(field, y, k=k, **kwargs).max_real


def update_spectral_radius(
    field, y, lr, *, k=2, tol=1e-10, ncv=None, max_restarts=300, seed=0, t=0.0, args=None
) -> float:
    r"""Spectral radius $ρ(I + αJ) = \max_λ |1 + αλ|$ of the simultaneous-gradient update
    $θ \leftarrow θ + α h(θ)$ linearised at `y`, matrix-free. The step is locally stable iff
    it is below 1 (docs, Theory §5).

    Krylov–Schur on $J$ keeping the Ritz values of largest $|1 + αθ|$ (the Krylov space of
    $I + αJ$ is that of $J$); same convergence criterion as `rightmost_eigenvalues`.

    **Arguments:** `field`, `y`, `lr` (the step size α > 0); the rest as in
    `rightmost_eigenvalues`.

    **Returns:** a float.

    ```python
    gdgan.update_spectral_radius(field, y_star, 0.1) < 1
    ```
    """
    lr = float(lr)
    if not lr > 0:
        raise InputError(f"update_spectral_radius: `lr` must be positive, got {lr!r}")
    _prepare(field, y, "update_spectral_radius")
    matvec, n, _ = _matvec_of(field, y, t, args)
    out = _solve(
        matvec,
        n,
        min(k, n),
        "update",
        lr,
        method="krylov-schur",
        ncv=ncv,
        tol=tol,
        max_restarts=max_restarts,
        v0=None,
        return_eigenvectors=False,
        seed=seed,
    )
    return float(np.max(np.abs(1.0 + lr * out.eigenvalues)))


def max_stable_step(
    field, y, *, k=2, tol=1e-10, margin=1e-9, ncv=None, max_restarts=300, seed=0, t=0.0, args=None
) -> float:
    r"""The largest α with $ρ(I + αJ) < 1$, matrix-free:
    $α^* = \min_λ 2|\mathrm{Re}\,λ|/|λ|^2 = 2\min_λ \mathrm{Re}(-1/λ)$ when every
    $\mathrm{Re}\,λ < -$`margin`, else 0.

    Krylov–Schur on $J$ keeping the Ritz values of largest $\mathrm{Re}(1/θ)$ (the
    eigenvalues that leave the disc $|1 + αλ| < 1$ first as α grows), followed by a check of
    the spectral abscissa (`rightmost_eigenvalues`, `k`) so that an unstable point gives 0.

    **Returns:** a float (an estimate: exact once the critical eigenvalue has converged).

    ```python
    gdgan.max_stable_step(field, y_star)
    ```
    """
    _prepare(field, y, "max_stable_step")
    matvec, n, _ = _matvec_of(field, y, t, args)
    common = dict(
        method="krylov-schur",
        ncv=ncv,
        tol=tol,
        max_restarts=max_restarts,
        v0=None,
        return_eigenvectors=False,
        seed=seed,
    )
    right = _solve(matvec, n, min(k, n), "rightmost", None, **common)
    if right.max_real >= -margin:
        return 0.0
    crit = _solve(matvec, n, min(k, n), "step", None, **common)
    lam = np.concatenate([crit.eigenvalues, right.eigenvalues])
    return float(np.min(-2.0 * lam.real / np.abs(lam) ** 2))


def spectra_along(field, states, k=6, *, t=0.0, args=None, **kwargs) -> Eigenvalues:
    r"""The `k` rightmost eigenvalues of $J$ at every snapshot of a history of states.

    **Arguments:** `field`; `states`: a state pytree whose leaves carry a leading snapshot
    axis (e.g. the strided history of `gdgan.train` or `sol.ys` of `gdgan.simulate`); `k`
    and `**kwargs` as in `rightmost_eigenvalues` (use `method`, `tol`, `ncv`).

    **Returns:** an `Eigenvalues` whose arrays have a leading snapshot axis: `eigenvalues`
    `(T, k)`, `residuals` `(T, k)`, `converged` `(T, k)`; `n_matvecs` is the total.
    The previous snapshot's rightmost eigenvector seeds the next solve.

    ```python
    out = gdgan.train(game, y0, optax.sgd(0.01), 1000, stride=100)   # 11 saved states
    spec = gdgan.spectra_along(field, out.ys, k=2)                   # spec.eigenvalues: (11, 2)
    gdgan.plot.eigenvalues_over_time(spec, steps=out.ts)
    ```
    """
    leaves = jax.tree_util.tree_leaves(states)
    if not leaves:
        raise InputError("spectra_along: `states` must hold arrays with a leading snapshot axis")
    lengths = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
    if len(lengths) != 1 or None in lengths:
        raise InputError(
            "spectra_along: every leaf of `states` needs the same leading axis, got "
            f"{sorted(map(str, lengths))}"
        )
    T = lengths.pop()
    kwargs = dict(kwargs)
    kwargs.pop("return_eigenvectors", None)
    rows = []
    v0 = kwargs.pop("v0", None)
    for i in range(T):
        y = jax.tree_util.tree_map(lambda a: a[i], states)
        r = rightmost_eigenvalues(
            field, y, k, v0=v0, return_eigenvectors=True, t=t, args=args, **kwargs
        )
        x = r.eigenvectors[:, 0]
        v0 = x.real + x.imag
        rows.append(r)
    return Eigenvalues(
        eigenvalues=np.stack([r.eigenvalues for r in rows]),
        residuals=np.stack([r.residuals for r in rows]),
        eigenvectors=None,
        converged=np.stack([r.converged for r in rows]),
        scale=float(max(r.scale for r in rows)),
        n_matvecs=int(sum(r.n_matvecs for r in rows)),
        n_restarts=int(sum(r.n_restarts for r in rows)),
        method=rows[0].method,
    )
