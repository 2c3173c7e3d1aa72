r"""Lyapunov equations, the one solver behind `gdgan.lyapunov_certificate` and
`gdgan.stationary_covariance`.

- continuous: $AX + XA^T + Q = 0$;
- discrete (Stein): $X = MXM^T + Q$, reduced to the continuous one by the bilinear
  (Cayley) transform $A = (M - I)(M + I)^{-1}$, $Q' = 2(M + I)^{-1}Q(M + I)^{-T}$ (valid
  when $-1$ is not an eigenvalue of $M$, e.g. whenever $ρ(M) < 1$).

The continuous equation is solved by Bartels & Stewart (1972): a complex Schur form
$A = UTU^H$ turns it into a triangular Sylvester equation solved column by column,
$O(n^3)$ time and $O(n^2)$ memory (`jax.scipy.linalg.solve_sylvester`, CPU only), or by
the eigendecomposition of $A$ (`"eigen"`: $O(n^3)$, any backend, inaccurate when $A$ is far
from normal). The Kronecker form $(A ⊗ I + I ⊗ A)\,\mathrm{vec}X = -\mathrm{vec}\,Q$
needs $n^4$ numbers and $O(n^6)$ time and is used only for tiny $n$, where one dense
solve beats the Schur form's sequential sweep. Everything is jittable and vmappable.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._analysis import check_memory
from ._checks import InputError

METHODS = ("auto", "schur", "eigen", "kron")
KRON_MAX_N = 6  # the n² × n² solve beats the Schur sweep up to n ≈ 4–8 (measured, CPU)


def _method(method, n):
    if method not in METHODS:
        raise InputError(f"method: expected one of {list(METHODS)}, got {method!r}")
    if method != "auto":
        return method
    if n <= KRON_MAX_N:
        return "kron"
    return "schur" if jax.default_backend() == "cpu" else "eigen"


def lyapunov_bytes(n, method="auto", itemsize=8) -> int:
    """Working memory (bytes, an estimate) of one solve of size `n` by `method`."""
    method = _method(method, n)
    if method == "kron":
        return 3 * n**4 * itemsize
    return 16 * n * n * 2 * itemsize  # complex Schur / eigen factors and intermediates


def _square(name, A, n=None):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2] or (n is not None and A.shape[-1] != n):
        want = "a square (n, n) matrix" if n is None else f"shape ({n}, {n})"
        raise InputError(f"{name}: expected {want}, got shape {A.shape}")
    return A


def _prepare(owner, names, A, Q, method, memory_budget):
    A = jnp.asarray(A)
    dtype = A.dtype if jnp.issubdtype(A.dtype, jnp.floating) else jnp.result_type(float)
    A = _square(names[0], A.astype(dtype))
    n = A.shape[-1]
    Q = _square(names[1], jnp.asarray(Q, dtype), n)
    method = _method(method, n)
    check_memory(
        owner,
        names[0],
        lyapunov_bytes(n, method, jnp.dtype(dtype).itemsize),
        memory_budget,
        f"a dense {n} × {n} Lyapunov solve ({method})",
        "a smaller model, or simulated paths (gdgan.sde + gdgan.empirical_covariance)",
    )
    return A, Q, n, method


def _continuous(A, Q, n, method):
    if method == "kron":
        eye = jnp.eye(n, dtype=A.dtype)
        # row-major vec: vec(AX) = (A ⊗ I) vec X, vec(X A^T) = (I ⊗ A) vec X
        K = jnp.kron(A, eye) + jnp.kron(eye, A)
        X = jnp.linalg.solve(K, -Q.reshape(-1)).reshape(n, n)
    elif method == "eigen":
        lam, V = jnp.linalg.eig(A)
        F = jnp.linalg.solve(V, jnp.linalg.solve(V, -Q.astype(lam.dtype)).T).T  # V⁻¹ (-Q) V⁻ᵀ
        X = (V @ (F / (lam[:, None] + lam[None, :])) @ V.T).real
    else:
        X = jax.scipy.linalg.solve_sylvester(A, A.T, -Q, method="schur", tol=0.0)
    return (X + X.T) / 2  # symmetric right-hand sides only


def solve_continuous_lyapunov(
    A,
    Q,
    *,
    method="auto",
    memory_budget=None,
    _owner="solve_continuous_lyapunov",
    _names=("A", "Q"),
):
    r"""The solution $X$ of $AX + XA^T + Q = 0$ for a symmetric `Q`.

    Bartels–Stewart on the complex Schur form of $A$ (`"schur"`, $O(n^3)$, CPU), the
    eigendecomposition of $A$ (`"eigen"`, any backend), or the Kronecker form (`"kron"`,
    $O(n^6)$: tiny $n$ only); `"auto"` picks `"kron"` for $n \le 6$, else `"schur"` on
    CPU and `"eigen"` elsewhere. The solution is unique when $λ_i + λ_j \ne 0$ for all
    eigenvalues of $A$ (e.g. $A$ Hurwitz); otherwise it is inf/NaN. Jittable, vmappable.

    **Arguments:** `A`, `Q`: `(n, n)`; `method`; `memory_budget`: bytes the solve may use
    (default: the memory available now); beyond it an `InputError` is raised before
    anything is allocated.

    **Returns:** the symmetric `(n, n)` $X$.

    ```python
    X = solve_continuous_lyapunov(jnp.array([[-1.0, 2.0], [0.0, -3.0]]), jnp.eye(2))
    ```
    """
    A, Q, n, method = _prepare(_owner, _names, A, Q, method, memory_budget)
    return _continuous(A, Q, n, method)


def solve_discrete_lyapunov(
    M, Q, *, method="auto", memory_budget=None, _owner="solve_discrete_lyapunov", _names=("M", "Q")
):
    r"""The solution $X$ of $X = MXM^T + Q$ for a symmetric `Q` (unique when no product of
    two eigenvalues of $M$ is 1, e.g. $ρ(M) < 1$), by the bilinear transform to
    `solve_continuous_lyapunov` (or the Kronecker form $(I - M ⊗ M)\,\mathrm{vec}X =
    \mathrm{vec}Q$ for tiny $n$). Arguments and returns as there.

    ```python
    X = solve_discrete_lyapunov(0.5 * jnp.eye(2), jnp.eye(2))   # = I / (1 - 0.25)
    ```
    """
    M, Q, n, method = _prepare(_owner, _names, M, Q, method, memory_budget)
    eye = jnp.eye(n, dtype=M.dtype)
    if method == "kron":
        X = jnp.linalg.solve(jnp.eye(n * n, dtype=M.dtype) - jnp.kron(M, M), Q.reshape(-1))
        X = X.reshape(n, n)
        return (X + X.T) / 2
    Mp = M + eye
    A = jnp.linalg.solve(Mp.T, (M - eye).T).T  # (M - I)(M + I)⁻¹
    G = jnp.linalg.solve(Mp, jnp.linalg.solve(Mp, Q).T).T  # (M + I)⁻¹ Q (M + I)⁻ᵀ
    return _continuous(A, 2 * G, n, method)
