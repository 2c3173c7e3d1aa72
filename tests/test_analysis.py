"""Spectra and verdicts against closed forms, the paper's identity and Lemma, finite
differences, and the built-in systems' equilibria."""

import cmath

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import lq_state, small_ring

import gdgan


def sorted_eigs(values):
    return gdgan._analysis.sort_by_real(jnp.asarray(values, complex))


def roots(b, c):
    """Roots of λ² + bλ + c, largest real part first."""
    d = cmath.sqrt(b * b / 4 - c)
    return sorted_eigs([-b / 2 + d, -b / 2 - d])


FPRIME = {"gan": 0.5, "wgan": 1.0}


@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_dirac_closed_forms(loss):
    """Dirac-GAN, V = f(0) + f(−ψθ), J = [[0, −f'], [f', 0]] ⇒ λ = ±i f'(0).

    R1(γ): L_D gains (γ/2)ψ² ⇒ J = [[−γ, −f'], [f', 0]] ⇒ λ² + γλ + f'² = 0.
    GradientPenalty(η): ‖∇_ψ V‖² = θ² f'(−ψθ)², whose θ-gradient linearises to 2f'(0)²θ, so
    J = [[0, −f'], [f', −2ηf'²]] ⇒ λ² + 2ηf'²λ + f'² = 0.
    Consensus(γ): J − γJᵀJ = J − γf'²I ⇒ λ = −γf'² ± i f'.
    SGA(λ): J + λ·A·J with A = J (skew) ⇒ J − λf'²I."""
    fp = FPRIME[loss]
    s = gdgan.systems.get("dirac", loss=loss)
    y = s.equilibrium
    rep = gdgan.stability(s.field(), y)
    np.testing.assert_allclose(rep.eigenvalues, sorted_eigs([1j * fp, -1j * fp]), atol=1e-12)
    assert rep.verdict == gdgan.Verdict.marginal
    for gamma in (0.3, 1.0, 3.0):
        ev = gdgan.stability(s.field(gdgan.R1(gamma)), y).eigenvalues
        np.testing.assert_allclose(ev, roots(gamma, fp**2), atol=1e-12)
        ev = gdgan.stability(s.field(gdgan.R2(gamma)), y).eigenvalues
        np.testing.assert_allclose(ev, roots(gamma, fp**2), atol=1e-12)
        ev = gdgan.stability(s.field(gdgan.GradientPenalty(gamma)), y).eigenvalues
        np.testing.assert_allclose(ev, roots(2 * gamma * fp**2, fp**2), atol=1e-12)
        ev = gdgan.stability(s.field(gdgan.Consensus(gamma)), y).eigenvalues
        np.testing.assert_allclose(
            ev, sorted_eigs([-gamma * fp**2 + 1j * fp, -gamma * fp**2 - 1j * fp]), atol=1e-12
        )
        ev = gdgan.stability(s.field(gdgan.SGA(gamma)), y).eigenvalues
        np.testing.assert_allclose(
            ev, sorted_eigs([-gamma * fp**2 + 1j * fp, -gamma * fp**2 - 1j * fp]), atol=1e-12
        )


def test_dirac_unrolled_and_timescale():
    """WGAN Dirac, Unrolled(k, lr): ψ_k = ψ − k·lr·θ, L_G = −ψ_kθ ⇒ θ' = ψ − 2k·lr·θ ⇒
    λ² + 2k·lr·λ + 1 = 0. TimeScale(c): J = [[0, −c], [1, 0]] ⇒ λ = ±i√c."""
    s = gdgan.systems.get("dirac", loss="wgan")
    for k, lr in ((1, 0.2), (3, 0.1)):
        ev = gdgan.stability(s.field(gdgan.Unrolled(k, lr)), s.equilibrium).eigenvalues
        np.testing.assert_allclose(ev, roots(2 * k * lr, 1.0), atol=1e-12)
    ev = gdgan.stability(s.field(gdgan.TimeScale(4.0)), s.equilibrium).eigenvalues
    np.testing.assert_allclose(ev, sorted_eigs([2j, -2j]), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("eta", [0.1, 0.25, 0.5, 1.0])
def test_lq_wgan_penalty_closed_form(sigma, eta):
    """LQ WGAN: J_0 = [[0, −2σ], [2σ, 0]] (±2σi); J_η = [[0, −2σ], [2σ, −8ησ²]] ⇒
    λ = −4ησ² ± 2σ√(4η²σ² − 1) (theory.md §7)."""
    s = gdgan.systems.get("lq", sigma=sigma, loss="wgan")
    rep0 = gdgan.stability(s.field(), s.equilibrium)
    np.testing.assert_allclose(rep0.eigenvalues, sorted_eigs([2j * sigma, -2j * sigma]), atol=1e-10)
    assert rep0.verdict == gdgan.Verdict.marginal and rep0.max_stable_step == 0
    rep = gdgan.stability(s.field(gdgan.GradientPenalty(eta)), s.equilibrium)
    d = 2 * sigma * cmath.sqrt(4 * eta**2 * sigma**2 - 1)
    np.testing.assert_allclose(
        rep.eigenvalues, sorted_eigs([-4 * eta * sigma**2 + d, -4 * eta * sigma**2 - d]), atol=1e-9
    )
    assert rep.verdict == gdgan.Verdict.stable


@pytest.mark.parametrize("sigma", [0.7, 1.0, 1.6])
def test_lq_gan_blocks_and_spiral(sigma):
    """LQ GAN (f = log σ, f'(0) = 1/2, f''(0) = −1/4), D = wx², G = az at (0, σ):
    K_DD = 2f''(0)E[x⁴] = −(3/2)σ⁴, K_DG = −2f'(0)·a·E[z²] = −σ, K_GG = 0,
    J = [[K_DD, K_DG], [−K_DG, 0]] ⇒ λ² + (3/2)σ⁴λ + σ² = 0."""
    s = gdgan.systems.get("lq", sigma=sigma, loss="gan")
    a = gdgan.assumptions(s.game, s.equilibrium)
    assert float(a.K_DD[0, 0]) == pytest.approx(-1.5 * sigma**4, rel=1e-10)
    assert float(a.K_DG[0, 0]) == pytest.approx(-sigma, rel=1e-10)
    assert abs(float(a.K_GG[0, 0])) < 1e-10
    assert float(a.f_prime) == pytest.approx(0.5) and float(a.f_second) == pytest.approx(-0.25)
    assert bool(a.holds)
    rep = gdgan.stability(s.field(), s.equilibrium)
    np.testing.assert_allclose(rep.eigenvalues, roots(1.5 * sigma**4, sigma**2), atol=1e-10)
    assert rep.verdict == gdgan.Verdict.stable
    assert bool(a.respects_bounds(rep.eigenvalues))


def gaussian_2d_game(loss):
    """A realisable multi-parameter game: data N(μ, diag(s²)) in R², G(z) = Az + b with
    z ~ N(0, I₂), D(x) = uᵀx + xᵀWx (W full 2×2). Equilibrium: u = W = 0, A = diag(s), b = μ."""
    mu, s = jnp.array([0.5, -1.0]), jnp.array([1.2, 0.7])
    game = gdgan.Game(
        lambda p, x: p["u"] @ x + x @ p["W"] @ x,
        lambda p, z: p["A"] @ z + p["b"],
        gdgan.Normal(mu, s),
        gdgan.Normal(jnp.zeros(2), 1.0),
        loss=loss,
        expectation=gdgan.Quadrature(6),
    )
    y = {"disc": {"u": jnp.zeros(2), "W": jnp.zeros((2, 2))}, "gen": {"A": jnp.diag(s), "b": mu}}
    return game, y


@pytest.mark.parametrize("eta", [0.1, 0.7])
@pytest.mark.parametrize(
    "name,loss",
    [
        ("lq", "gan"),
        ("lq", "wgan"),
        ("uniform", "gan"),
        ("dirac", "wgan"),
        ("g2", "gan"),
        ("g2", "wgan"),
    ],
)
def test_penalty_jacobian_identity(name, loss, eta):
    """At a realisable equilibrium J_η = [[I, 0], [−2ηK_DGᵀ, I]]·J_0 (theory.md §4), hence
    det J_η = det J_0."""
    if name == "g2":
        game, y = gaussian_2d_game(loss)
    else:
        s = gdgan.systems.get(name, loss=loss)
        game, y = s.game, s.equilibrium
    J0 = gdgan.jacobian(gdgan.vector_field(game), y)
    Je = gdgan.jacobian(gdgan.vector_field(game, gdgan.GradientPenalty(eta)), y)
    K_DG = gdgan.assumptions(game, y).K_DG
    nd, ng = K_DG.shape
    T = jnp.block([[jnp.eye(nd), jnp.zeros((nd, ng))], [-2 * eta * K_DG.T, jnp.eye(ng)]])
    np.testing.assert_allclose(Je, T @ J0, atol=1e-10)
    np.testing.assert_allclose(jnp.linalg.det(Je), jnp.linalg.det(J0), atol=1e-10)


def test_gaussian_2d_block_structure():
    """J = [[K_DD, K_DG], [−K_DGᵀ, −K_GG]] with K_GG = 0 at a realisable equilibrium."""
    game, y = gaussian_2d_game("gan")
    a = gdgan.assumptions(game, y)
    J = gdgan.jacobian(gdgan.vector_field(game), y)
    nd = a.K_DD.shape[0]
    np.testing.assert_allclose(J[:nd, :nd], a.K_DD, atol=1e-10)
    np.testing.assert_allclose(J[:nd, nd:], a.K_DG, atol=1e-10)
    np.testing.assert_allclose(J[nd:, :nd], -a.K_DG.T, atol=1e-10)
    np.testing.assert_allclose(a.K_GG, 0.0, atol=1e-10)
    assert float(a.d_residual) < 1e-12 and float(a.moment_residual) < 1e-10


def _lemma_instance(key, nd, ng):
    kq, kp = jax.random.split(key)
    M = jax.random.normal(kq, (nd, nd))
    Q = M @ M.T + 0.05 * jnp.eye(nd)
    P = jax.random.normal(kp, (nd, ng)) * jnp.exp(jax.random.uniform(kp, (), minval=-2, maxval=2))
    # V(d, g) = −½dᵀQd + dᵀPg ⇒ K_DD = −Q, K_DG = P, J = [[−Q, P], [−Pᵀ, 0]].
    game = gdgan.ValueGame(lambda y: -0.5 * y["disc"] @ Q @ y["disc"] + y["disc"] @ P @ y["gen"])
    y = {"disc": jnp.zeros(nd), "gen": jnp.zeros(ng)}
    a = gdgan.assumptions(game, y)
    rep = gdgan.stability(gdgan.vector_field(game), y)
    return a.respects_bounds(rep.eigenvalues, atol=1e-9), rep.verdict == gdgan.Verdict.stable


@pytest.mark.parametrize("nd,ng", [(2, 1), (3, 2), (4, 4), (5, 3)])
def test_lemma_bounds_on_random_instances(nd, ng):
    """Nagarajan & Kolter's Lemma on 4 × 256 = 1024 random (Q ≻ 0, P full column rank):
    every eigenvalue of [[−Q, P], [−Pᵀ, 0]] lies within the bounds and J is Hurwitz."""
    keys = jax.random.split(jax.random.PRNGKey(nd * 10 + ng), 256)
    ok, stable = jax.vmap(lambda k: _lemma_instance(k, nd, ng))(keys)
    assert bool(jnp.all(ok)) and bool(jnp.all(stable))


def test_lemma_bounds_can_fail():
    """The bound check is not vacuous: a spectrum shifted right violates it."""
    s = gdgan.systems.get("lq", loss="gan")
    a = gdgan.assumptions(s.game, s.equilibrium)
    ev = gdgan.stability(s.field(), s.equilibrium).eigenvalues
    assert bool(a.respects_bounds(ev)) and not bool(a.respects_bounds(ev + 0.5))


def test_wgan_and_dirac_violate_assumptions():
    """WGAN: f''(0) = 0; Dirac-GAN: K_DD = 0 since E[x²] = 0 under δ_0 (theory.md §7)."""
    s = gdgan.systems.get("lq", loss="wgan")
    a = gdgan.assumptions(s.game, s.equilibrium)
    assert not bool(a.concave_f) and not bool(a.holds)
    d = gdgan.systems.get("dirac", loss="gan")
    a = gdgan.assumptions(d.game, d.equilibrium)
    assert not bool(a.kdd_negative_definite) and bool(a.kdg_full_column_rank)


def test_max_stable_step_against_spectral_radius():
    """ρ(I + αJ) < 1 just below the reported α* and ≥ 1 just above it."""
    for name, loss, eta in (("lq", "gan", 0.0), ("lq", "wgan", 0.3), ("uniform", "gan", 0.5)):
        s = gdgan.systems.get(name, loss=loss)
        regs = [gdgan.GradientPenalty(eta)] if eta else []
        rep = gdgan.stability(s.field(*regs), s.equilibrium)
        alpha = float(rep.max_stable_step)
        n = rep.jacobian.shape[0]
        rho = lambda a: max(abs(np.linalg.eigvals(np.eye(n) + a * np.asarray(rep.jacobian))))  # noqa: E731
        assert alpha > 0 and rho(alpha * 0.999) < 1 <= rho(alpha * 1.001)


def test_ring_jacobian_matches_finite_differences():
    """Exact Jacobian of the MLP ring GAN vs central differences (ε = 1e-6)."""
    s = small_ring()
    field = s.field(gdgan.GradientPenalty(0.5))
    J = gdgan.jacobian(field, s.init)
    f, v, _ = gdgan._analysis.flatten(field, s.init)
    n = v.size
    eps = 1e-6
    fd = jax.vmap(lambda e: (f(v + eps * e) - f(v - eps * e)) / (2 * eps))(jnp.eye(n)).T
    np.testing.assert_allclose(J, fd, atol=1e-6 * float(jnp.max(jnp.abs(J))))
    # chunked = jacfwd for chunk sizes that do and do not divide n: tests/test_spectra.py


def test_verdicts_under_jit_and_vmap():
    s = gdgan.systems.get("lq", loss="wgan")
    verdicts = jax.vmap(
        lambda e: gdgan.stability(s.field(gdgan.GradientPenalty(e)), s.equilibrium).verdict
    )(jnp.array([0.0, 0.5]))
    assert list(gdgan._analysis.enum_name(gdgan.Verdict, verdicts)) == ["marginal", "stable"]
    unstable = gdgan.stability(
        lambda t, y, a: jax.tree_util.tree_map(lambda v: 0.3 * v, y), lq_state(0.0, 0.0)
    )
    assert unstable.verdict == gdgan.Verdict.unstable and unstable.max_stable_step == 0


@pytest.mark.parametrize("method", ["newton", "least_squares"])
def test_find_equilibrium(method):
    s = gdgan.systems.get("lq", sigma=1.3, loss="gan")
    y = gdgan.find_equilibrium(s.field(), lq_state(0.2, 1.0), method=method)
    assert abs(float(y["disc"]["w"])) < 1e-8 and float(y["gen"]["a"]) == pytest.approx(
        1.3, abs=1e-8
    )
    with pytest.raises(ValueError, match="method: expected one of"):
        gdgan.find_equilibrium(s.field(), lq_state(0.2, 1.0), method="bisect")


@pytest.mark.parametrize("name", gdgan.systems.names())
@pytest.mark.parametrize("loss", ["gan", "wgan", "nsgan", "lsgan", "hinge"])
def test_systems_equilibria_are_zeros_of_the_field(name, loss):
    """Every known equilibrium is a zero of the field it belongs to."""
    params = gdgan.systems.parameters(name)
    if "loss" not in params and loss != "gan":
        pytest.skip(f"{name} has a fixed objective")
    kw = {"loss": loss} if "loss" in params else {}
    s = small_ring(**kw) if name == "ring" else gdgan.systems.get(name, **kw)
    if s.equilibrium is None:
        pytest.skip(f"{name} with {loss} has no closed-form equilibrium")
    h = s.field()(0.0, s.equilibrium, None)
    assert max(abs(float(jnp.max(jnp.abs(a)))) for a in jax.tree_util.tree_leaves(h)) < 1e-10


def test_system_errors():
    with pytest.raises(ValueError, match=r"system: expected one of \[.*'dirac'.*'lq'.*got 'lqq'"):
        gdgan.systems.get("lqq")
    with pytest.raises(
        ValueError, match=r"param: system 'lq' has parameters \['loss', 'sigma'\], got 'sgima'"
    ):
        gdgan.systems.get("lq", sgima=1.0)


def test_python_number_leaves_are_states_too():
    """A state written with Python floats (`{"disc": {"psi": 0.3}, ...}`) is analysed like
    the same state of JAX arrays (before: a zero-length state and a confusing
    `chunk_size` error, or an IndexError from the root finder)."""
    s = gdgan.systems.get("dirac")
    field = s.field(gdgan.GradientPenalty(0.5))
    y_py = {"disc": {"psi": 0.3}, "gen": {"theta": 0.2}}
    y_arr = jax.tree_util.tree_map(jnp.asarray, y_py)
    np.testing.assert_allclose(gdgan.jacobian(field, y_py), gdgan.jacobian(field, y_arr))
    assert gdgan.stability(field, y_py).verdict == gdgan.stability(field, y_arr).verdict
    eq = gdgan.find_equilibrium(field, y_py)
    np.testing.assert_allclose(
        jax.flatten_util.ravel_pytree(eq)[0],
        jax.flatten_util.ravel_pytree(s.equilibrium)[0],
        atol=1e-8,
    )
