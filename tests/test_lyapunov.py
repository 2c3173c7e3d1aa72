"""The one Lyapunov solver (`gdgan._lyapunov`) against scipy's Bartels–Stewart, closed forms
and the equation's own residual, with every method; and the memory guards (Lyapunov,
dense Jacobian, eigendecomposition, Krylov basis) refusing before allocating."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import gdgan
from gdgan._basin import solve_lyapunov
from gdgan._lyapunov import solve_continuous_lyapunov, solve_discrete_lyapunov


def nonnormal_stable(n, seed):
    """A Hurwitz, far-from-normal matrix: a random similarity of a stable upper-triangular
    matrix with a strong off-diagonal part (eigenvalues in [-3, -0.5])."""
    rng = np.random.default_rng(seed)
    T = np.triu(rng.normal(size=(n, n)), 1) + np.diag(-rng.uniform(0.5, 3.0, n))
    S = np.eye(n) + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)
    return S @ T @ np.linalg.inv(S)


def spd(n, seed):
    B = np.random.default_rng(seed).normal(size=(n, n))
    return B @ B.T + np.eye(n)


@pytest.mark.parametrize("method", ["auto", "kron", "schur", "eigen"])
@pytest.mark.parametrize("n", [1, 3, 9])
def test_continuous_and_discrete_match_scipy(method, n):
    """scipy.linalg.solve_continuous_lyapunov(A, -Q) solves AX + XAᵀ = -Q and
    solve_discrete_lyapunov(M, Q) solves X = MXMᵀ + Q: both oracles, on a non-normal A."""
    A, Q = nonnormal_stable(n, n), spd(n, n + 1)
    # the eigen method loses ~κ(V)² ε (κ ≈ 2e4 at n = 9): documented as inaccurate there
    rtol = 1e-6 if method == "eigen" else 1e-9
    X = solve_continuous_lyapunov(A, Q, method=method)
    ref = scipy.linalg.solve_continuous_lyapunov(A, -Q)
    np.testing.assert_allclose(X, ref, rtol=rtol, atol=rtol * 1e-2 * np.abs(ref).max())
    M = np.eye(n) + 0.1 * A
    Xd = solve_discrete_lyapunov(M, Q, method=method)
    refd = scipy.linalg.solve_discrete_lyapunov(M, Q)
    np.testing.assert_allclose(Xd, refd, rtol=rtol, atol=rtol * 1e-2 * np.abs(refd).max())


def test_closed_forms_and_residual_at_n_300():
    """Scalar closed forms: a x + x a + q = 0 → x = -q / (2a); x = m² x + q → q / (1 - m²).
    At n = 300 (the Kronecker form would need 65 GB) the equation's residual is at round-off."""
    np.testing.assert_allclose(solve_continuous_lyapunov([[-2.0]], [[3.0]]), [[0.75]])
    np.testing.assert_allclose(solve_discrete_lyapunov([[0.5]], [[3.0]]), [[4.0]])
    rng = np.random.default_rng(0)
    A, Q = rng.normal(size=(300, 300)) / np.sqrt(300) - 2 * np.eye(300), spd(300, 1)
    X = np.asarray(solve_continuous_lyapunov(A, Q))
    assert np.abs(A @ X + X @ A.T + Q).max() <= 1e-10 * np.abs(Q).max() * np.linalg.norm(A)
    C = np.asarray(gdgan.stationary_covariance(A, Q))
    np.testing.assert_allclose(C, X, rtol=1e-12, atol=0)


def test_jit_vmap_and_basin_wrapper():
    """Under jit and vmap: X(λQ) = λX(Q) (linearity); `_basin.solve_lyapunov` is the same
    solver on Jᵀ (JᵀP + PJ = -I)."""
    A, Q = nonnormal_stable(8, 3), spd(8, 4)
    out = jax.jit(jax.vmap(lambda s: solve_continuous_lyapunov(A, s * Q)))(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(out[1], 2 * out[0], rtol=1e-12)
    P = np.asarray(solve_lyapunov(A))
    np.testing.assert_allclose(A.T @ P + P @ A, -np.eye(8), atol=1e-11)


def test_memory_guards_refuse_before_allocating():
    """Each guard names the argument and the alternative; nothing of the stated size is
    allocated (the states here are a few MB, the refused objects TBs)."""
    with pytest.raises(ValueError, match=r"A: expected a dense 300 × 300 .*memory_budget"):
        solve_continuous_lyapunov(np.eye(300), np.eye(300), memory_budget=1 << 20)
    with pytest.raises(ValueError, match=r"stationary_covariance: J: expected a dense 300"):
        gdgan.stationary_covariance(-np.eye(300), np.eye(300), memory_budget=1 << 20)
    # the old Kronecker solve at n = 300: 3 n⁴ float64s ≈ 194 GB, refused up front
    with pytest.raises(ValueError, match=r"stationary_covariance: J: .*\(kron\).*GiB"):
        gdgan.stationary_covariance(-np.eye(300), np.eye(300), method="kron")
    with pytest.raises(ValueError, match="method: expected one of"):
        solve_continuous_lyapunov(-np.eye(2), np.eye(2), method="bogus")

    n = 10**6
    y = {"disc": jnp.zeros(n // 2), "gen": jnp.zeros(n // 2)}
    field = lambda t, y, args: {"disc": -y["disc"], "gen": -y["gen"]}  # noqa: E731
    with pytest.raises(ValueError, match=r"jacobian: y: .*gdgan.rightmost_eigenvalues"):
        gdgan.jacobian(field, y)
    with pytest.raises(ValueError, match=r"stability: y: .*matrix-free"):
        gdgan.stability(field, y)
    with pytest.raises(ValueError, match=r"rightmost_eigenvalues: ncv: .*smaller ncv"):
        gdgan.rightmost_eigenvalues(field, y, ncv=10**6)
