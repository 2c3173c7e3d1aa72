"""Spectra at scale: the chunked Jacobian against `jax.jacfwd`, and the matrix-free rightmost
eigenvalues, update-operator spectral radius and largest stable step against dense
`numpy.linalg.eigvals` of the same matrix."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import lq_state, small_ring

import gdgan
from gdgan._analysis import auto_chunk_size, flatten, max_stable_step_of


# -- helpers ------------------------------------------------------------------------------
def linear_field(A):
    """The linear field y ↦ A y on a {"disc": (n//2,), "gen": (n - n//2,)} state."""
    A = jnp.asarray(A)
    n = A.shape[0]
    nd = n // 2

    def field(t, y, args):
        out = A @ jnp.concatenate([y["disc"], y["gen"]])
        return {"disc": out[:nd], "gen": out[nd:]}

    return field, {"disc": jnp.full((nd,), 0.1), "gen": jnp.full((n - nd,), -0.2)}


def dense_sorted(A):
    ev = np.linalg.eigvals(np.asarray(A))
    return ev[np.lexsort((-ev.imag, -ev.real))]


def lemma_matrix(nd, ng, seed, qlo, qhi, shift=0.0):
    """J = [[-Q, P], [-P^T, 0]] + shift·I: the Jacobian at a realisable equilibrium (theory.md
    §3) with Q ≻ 0 of spectrum in [qlo, qhi]. Complex eigenvalues have real parts in
    [-qhi/2, -qlo/2] (the Lemma): a cluster near the imaginary axis when qlo is small, and
    real eigenvalues down to about -qhi."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.normal(size=(nd, nd)))[0]
    Q = U @ np.diag(np.exp(rng.uniform(np.log(qlo), np.log(qhi), nd))) @ U.T
    P = rng.normal(size=(nd, ng)) / np.sqrt(nd)
    return np.block([[-Q, P], [-P.T, np.zeros((ng, ng))]]) + shift * np.eye(nd + ng)


def block_spectrum_matrix(lams, seed):
    """A real matrix with prescribed eigenvalues (complex ones with their conjugates), made
    non-normal by a random similarity of moderate condition number."""
    rng = np.random.default_rng(seed)
    blocks = []
    for lam in lams:
        if np.iscomplex(lam):
            blocks.append(np.array([[lam.real, lam.imag], [-lam.imag, lam.real]]))
        else:
            blocks.append(np.array([[lam.real]]))
    n = sum(b.shape[0] for b in blocks)
    D = np.zeros((n, n))
    i = 0
    for b in blocks:
        D[i : i + b.shape[0], i : i + b.shape[0]] = b
        i += b.shape[0]
    S = np.eye(n) + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)
    return S @ D @ np.linalg.inv(S)


# -- the chunked Jacobian -----------------------------------------------------------------
@pytest.mark.parametrize("mode,chunks", [("vjp", [1, 16]), ("jvp", [4, 10**6])])
def test_chunked_jacobian_equals_jacfwd_ring(mode, chunks):
    """Chunks 16 and 4 do not divide n = 105; 10**6 > n is one block (the budget-chosen
    chunk is tested below)."""
    s = small_ring()
    field = s.field()
    f, v, _ = flatten(field, s.init)
    ref = jax.jit(jax.jacfwd(f))(v)
    assert v.size % 4 and v.size % 16
    tol = 1e-12 * float(jnp.max(jnp.abs(ref)))
    for chunk in chunks:
        J = jax.jit(lambda y: gdgan.jacobian(field, y, chunk_size=chunk, mode=mode))(s.init)
        np.testing.assert_allclose(J, ref, rtol=0, atol=tol)


def test_chunked_jacobian_lq_and_under_jit():
    field = gdgan.systems.get("lq", sigma=1.5).field(gdgan.GradientPenalty(0.2))
    y = lq_state(0.3, 1.1)
    f, v, _ = flatten(field, y)
    ref = jax.jacfwd(f)(v)
    J = jax.jit(lambda y: gdgan.jacobian(field, y, chunk_size=1))(y)
    np.testing.assert_allclose(J, ref, atol=1e-14)


def test_chunk_from_memory_budget():
    s = small_ring()
    f, v, _ = flatten(s.field(), s.init)
    assert auto_chunk_size(f, v, memory_budget=1) == 1
    assert auto_chunk_size(f, v, memory_budget=1 << 40) == v.size
    J = jax.jit(lambda y: gdgan.jacobian(s.field(), y, memory_budget=1, mode="jvp"))(s.init)
    np.testing.assert_allclose(J, jax.jit(jax.jacfwd(f))(v), atol=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_chunk_size(bad):
    field = gdgan.systems.get("lq").field()
    with pytest.raises(ValueError, match="chunk_size"):
        gdgan.jacobian(field, lq_state(0.0, 1.0), chunk_size=bad)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        gdgan.jacobian(gdgan.systems.get("lq").field(), lq_state(0.0, 1.0), mode="rows")


# -- matrix-free rightmost eigenvalues ----------------------------------------------------
def _check_rightmost(A, k, atol_rel=1e-8, **kw):
    field, y = linear_field(A)
    ev = dense_sorted(A)
    res = gdgan.rightmost_eigenvalues(field, y, k, **kw)
    rho = np.max(np.abs(ev))
    assert res.eigenvalues.shape == (k,)
    np.testing.assert_allclose(res.eigenvalues, ev[:k], rtol=0, atol=atol_rel * rho)
    assert res.all_converged
    assert np.all(res.residuals <= 1e-8 * rho)
    return res


def test_rightmost_random_unstable_complex_pairs():
    """Gaussian matrix/√n − 0.5 I: the circular law puts eigenvalues in a disc of radius 1
    centred at −0.5, so the rightmost are complex pairs with Re ≈ 0.5 > 0."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 200)) / np.sqrt(200) - 0.5 * np.eye(200)
    res = _check_rightmost(A, 6)
    assert np.any(np.abs(res.eigenvalues.imag) > 1e-3)
    assert res.max_real > 0


def test_rightmost_random_stable():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(150, 150)) / np.sqrt(150) - 1.5 * np.eye(150)
    res = _check_rightmost(A, 5)
    assert res.max_real < 0


def test_rightmost_near_imaginary_cluster_with_far_left():
    """Prescribed spectrum: complex pairs −0.01·j ± i·(1 + 0.1 j) (j = 0..14) near the
    imaginary axis, and large negative eigenvalues −5 … −200 elsewhere."""
    rng = np.random.default_rng(2)
    cluster = [-0.01 * j + 1j * (1 + 0.1 * j) for j in range(15)]
    far = [-rng.uniform(5, 200) + 1j * rng.uniform(0, 3) for _ in range(40)]
    far += list(-rng.uniform(5, 200, 30))
    A = block_spectrum_matrix(cluster + far, 3)
    res = _check_rightmost(A, 6)
    np.testing.assert_allclose(
        np.sort(res.eigenvalues.real)[::-1], [0, 0, -0.01, -0.01, -0.02, -0.02], atol=1e-8 * 200
    )


@pytest.mark.parametrize("shift", [0.0, 0.05])
def test_rightmost_gan_lemma_structure(shift):
    """[[−Q, P], [−Pᵀ, 0]] with Q's spectrum in [0.1, 20], stable (shift 0) and unstable."""
    A = lemma_matrix(60, 40, 4, 0.1, 20.0, shift)
    res = _check_rightmost(A, 6)
    assert (res.max_real > 0) == (shift > 0)


def test_rightmost_k_equals_n_and_eigenvectors():
    A = np.array([[0.0, -0.5, 0.1], [0.5, 0.0, 0.0], [0.0, 0.2, -1.0]])
    field, y = linear_field(A)
    res = gdgan.rightmost_eigenvalues(field, y, 3, return_eigenvectors=True)
    np.testing.assert_allclose(res.eigenvalues, dense_sorted(A), atol=1e-12)
    X = res.eigenvectors
    np.testing.assert_allclose(A @ X, X * res.eigenvalues[None, :], atol=1e-12)


def test_rightmost_arpack_agrees():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(120, 120)) / np.sqrt(120)
    _check_rightmost(A, 4, method="arpack", atol_rel=1e-7)


def test_dirac_and_lq_closed_forms():
    """Dirac-GAN at (0, 0): ±i f'(0) = ±i/2 (gan). LQ WGAN at (0, σ): ±2σi; with the
    gradient penalty η: −4ησ² ± 2σ√(4η²σ² − 1) (theory.md §7)."""
    d = gdgan.systems.get("dirac")
    res = gdgan.rightmost_eigenvalues(d.field(), d.equilibrium, 2)
    np.testing.assert_allclose(res.eigenvalues, [0.5j, -0.5j], atol=1e-12)
    sigma, eta = 1.5, 0.1
    lq = gdgan.systems.get("lq", sigma=sigma, loss="wgan")
    res = gdgan.rightmost_eigenvalues(lq.field(), lq.equilibrium, 2)
    np.testing.assert_allclose(res.eigenvalues, [2j * sigma, -2j * sigma], atol=1e-10)
    res = gdgan.rightmost_eigenvalues(lq.field(gdgan.GradientPenalty(eta)), lq.equilibrium, 2)
    root = 2 * sigma * np.sqrt(complex(4 * eta**2 * sigma**2 - 1))
    want = np.array([-4 * eta * sigma**2 + root, -4 * eta * sigma**2 - root])
    want = want[np.lexsort((-want.imag, -want.real))]
    np.testing.assert_allclose(res.eigenvalues, want, atol=1e-10)
    assert gdgan.spectral_abscissa(lq.field(gdgan.GradientPenalty(eta)), lq.equilibrium) < 0


def test_ring_gan_n2000_matches_dense():
    s = gdgan.systems.get("ring", width=25, latent_dim=50, n_samples=64)
    field = s.field()
    assert 1900 <= s.n <= 2200
    J = np.asarray(jax.jit(lambda y: gdgan.jacobian(field, y))(s.init))
    ev = dense_sorted(J)
    rho = np.max(np.abs(ev))
    res = gdgan.rightmost_eigenvalues(field, s.init, 6)
    np.testing.assert_allclose(res.eigenvalues, ev[:6], rtol=0, atol=1e-8 * rho)
    assert res.all_converged


# -- the update operator ------------------------------------------------------------------
@pytest.mark.parametrize("lr", [0.01, 0.1, 1.0])
def test_update_spectral_radius_equals_dense(lr):
    rng = np.random.default_rng(6)
    A = rng.normal(size=(100, 100)) / np.sqrt(100) - 0.8 * np.eye(100)
    field, y = linear_field(A)
    want = np.max(np.abs(1 + lr * np.linalg.eigvals(A)))
    got = gdgan.update_spectral_radius(field, y, lr)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_update_spectral_radius_lemma_and_bad_lr():
    A = lemma_matrix(30, 20, 7, 0.5, 10.0)
    field, y = linear_field(A)
    for lr in [0.05, 0.3]:
        want = np.max(np.abs(1 + lr * np.linalg.eigvals(A)))
        np.testing.assert_allclose(gdgan.update_spectral_radius(field, y, lr), want, rtol=1e-10)
    with pytest.raises(ValueError, match="lr"):
        gdgan.update_spectral_radius(field, y, -0.1)


def test_max_stable_step_equals_dense():
    rng = np.random.default_rng(8)
    A = rng.normal(size=(80, 80)) / np.sqrt(80) - 1.3 * np.eye(80)
    field, y = linear_field(A)
    want = float(max_stable_step_of(jnp.asarray(np.linalg.eigvals(A))))
    assert want > 0
    np.testing.assert_allclose(gdgan.max_stable_step(field, y), want, rtol=1e-9)
    # the step really is critical: ρ(I + αJ) crosses 1 there
    assert gdgan.update_spectral_radius(field, y, 0.99 * want) < 1
    assert gdgan.update_spectral_radius(field, y, 1.01 * want) > 1
    B = A + 2.0 * np.eye(80)  # unstable: no stable step
    field, y = linear_field(B)
    assert gdgan.max_stable_step(field, y) == 0.0


# -- spectra along a trajectory -----------------------------------------------------------
def test_spectra_along_matches_pointwise():
    s = gdgan.systems.get("lq", sigma=1.0)
    field = s.field(gdgan.GradientPenalty(0.3))
    ws = jnp.array([0.0, 0.2, -0.1])
    as_ = jnp.array([1.0, 1.3, 0.8])
    states = {"disc": {"w": ws}, "gen": {"a": as_}}
    out = gdgan.spectra_along(field, states, k=2)
    assert out.eigenvalues.shape == (3, 2)
    for i in range(3):
        rep = gdgan.stability(field, lq_state(ws[i], as_[i]))
        np.testing.assert_allclose(out.eigenvalues[i], rep.eigenvalues, atol=1e-10)
    with pytest.raises(ValueError, match="states"):
        gdgan.spectra_along(field, {"disc": {"w": ws}, "gen": {"a": as_[:2]}})


def test_eigenvalues_over_time_plot():
    import matplotlib

    matplotlib.use("Agg")
    from gdgan.plot._spectra import eigenvalues_over_time

    eig = np.array([[0.1 + 1j, 0.1 - 1j], [0.0 + 0.5j, 0.0 - 0.5j], [-0.1, -0.2]])
    ax = eigenvalues_over_time(eig, steps=[0, 10, 20])
    assert len(ax.lines) == 3  # two ranks and the zero line
    axes = eigenvalues_over_time(eig, part="both")
    assert len(axes) == 2
    with pytest.raises(ValueError, match="steps"):
        eigenvalues_over_time(eig, steps=[0, 1])


def test_bad_k():
    field, y = linear_field(np.eye(4))
    with pytest.raises(ValueError, match="`k`"):
        gdgan.rightmost_eigenvalues(field, y, 5)


# -- the command line ---------------------------------------------------------------------
def test_cli_spectrum_matrix_free_json():
    cmd = [
        sys.executable,
        "-m",
        "gdgan._cli",
        "spectrum",
        "ring",
        "--param",
        "width=6",
        "--param",
        "latent_dim=3",
        "--param",
        "n_samples=16",
        "--matrix-free",
        "--k",
        "4",
        "--json",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    for key in ("system", "n", "eigenvalues", "verdict", "max_real", "max_stable_step"):
        assert key in out
    assert len(out["eigenvalues"]) == 4 and out["verdict"] in ("stable", "marginal", "unstable")
    s = small_ring()
    ev = dense_sorted(jax.jit(lambda y: gdgan.jacobian(s.field(), y))(s.init))
    np.testing.assert_allclose([complex(*e) for e in out["eigenvalues"]], ev[:4], atol=1e-9)


def test_cli_bench_bad_name_exits_nonzero():
    p = subprocess.run(
        [sys.executable, "-m", "gdgan._cli", "bench", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode != 0 and "gdgan: error" in p.stderr and "Traceback" not in p.stderr


# -- the 10⁶-parameter levers, on a CI-sized ring GAN with the gradient penalty -----------
@pytest.fixture(scope="module")
def penalised_ring():
    """Ring GAN (width 20, latent 40, 64 samples) with GradientPenalty(0.5): n = 1 403, its
    dense J and sorted eigenvalues (the oracle)."""
    s = gdgan.systems.get("ring", width=20, latent_dim=40, n_samples=64)
    field = s.field(gdgan.GradientPenalty(0.5))
    J = np.asarray(gdgan.jacobian(field, s.init))
    return field, s.init, J, dense_sorted(J)


def test_penalised_ring_matches_dense_to_1e10_and_arpack(penalised_ring):
    """Krylov–Schur (DGKS re-orthogonalisation, one product per real Ritz vector in the
    explicit residuals) equals dense `eigvals` to 1e-10 ρ(J), with residuals that are the
    true ‖Jx − λx‖ of the returned vectors, and agrees with ARPACK on the same product."""
    field, y, J, ev = penalised_ring
    rho = np.max(np.abs(ev))
    res = gdgan.rightmost_eigenvalues(field, y, 6, return_eigenvectors=True)
    assert res.all_converged
    np.testing.assert_allclose(res.eigenvalues, ev[:6], rtol=0, atol=1e-10 * rho)
    X = res.eigenvectors
    true = np.linalg.norm(J @ X - X * res.eigenvalues[None, :], axis=0)
    np.testing.assert_allclose(res.residuals, true, rtol=1e-6, atol=1e-13 * rho)
    arp = gdgan.rightmost_eigenvalues(field, y, 6, method="arpack")
    np.testing.assert_allclose(arp.eigenvalues, res.eigenvalues, rtol=0, atol=1e-10 * rho)


def test_float32_products_accuracy_and_tol_floor(penalised_ring):
    """float32 JVPs with a float64 basis: the eigenvalues are those of a matrix within
    ~1e-7‖J‖ of J, so they match dense float64 to 1e-5 ρ(J) (not to 1e-10: the test also
    checks that the float32 error is visible, i.e. the products really ran in float32);
    a `tol` below the float32 floor is refused."""
    field, y, J, ev = penalised_ring
    rho = np.max(np.abs(ev))
    res = gdgan.rightmost_eigenvalues(field, y, 6, jvp_dtype="float32")
    assert res.all_converged
    err = np.max(np.abs(res.eigenvalues - ev[:6]))
    assert err <= 1e-5 * rho
    assert err > 1e-13 * rho
    with pytest.raises(ValueError, match="tol: expected >= 1e-06 with float32"):
        gdgan.rightmost_eigenvalues(field, y, 6, jvp_dtype="float32", tol=1e-10)


def test_float32_products_really_run_in_float32(penalised_ring):
    """The float32 product is J v of the *same* field (the Monte Carlo samples are the
    float64 ones rounded, not other draws: relative error ~1e-7, not the ~5 % of another
    512-sample estimate) computed in float32 arithmetic (relative error well above float64
    round-off; before, one float64 constant promoted every product back to float64)."""
    from gdgan._spectra import _linearized_in, _matvec_of

    field, y, J, _ = penalised_ring
    x = np.random.default_rng(3).standard_normal(J.shape[0])
    mv32, n, dtype = _matvec_of(field, y, 0.0, None, "float32")
    assert dtype == np.float32 and n == J.shape[0]
    err = np.linalg.norm(mv32(x) - J @ x) / np.linalg.norm(J @ x)
    assert 1e-9 < err < 1e-5
    # every matrix product of the linearised field is a float32 one
    v, lin = _linearized_in(field, y, 0.0, None, "float32")
    eqns = jax.make_jaxpr(lin)(jnp.zeros(n, v.dtype)).jaxpr.eqns
    dots = [e.outvars[0].aval.dtype for e in eqns if e.primitive.name == "dot_general"]
    assert dots and all(d == jnp.float32 for d in dots)
    with pytest.raises(ValueError, match="jvp_dtype: expected"):
        gdgan.rightmost_eigenvalues(field, y, 6, jvp_dtype="float16")


def test_eager_jacobian_builds_in_place(penalised_ring):
    """The eager `jacobian` compiles the whole block loop (J's buffer created inside the
    program): columns by JVP blocks of 300 (not dividing n) equal the rows-by-VJP oracle."""
    field, y, J, _ = penalised_ring
    J2 = np.asarray(gdgan.jacobian(field, y, chunk_size=300, mode="jvp"))
    np.testing.assert_allclose(J2, J, rtol=0, atol=1e-12 * np.abs(J).max())
