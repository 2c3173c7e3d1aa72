r"""`gdgan.modified_field` and `gdgan.DriftCorrection` against independent oracles.

The modified field $\tilde h = h + αf_1$ of a step rule must satisfy, with $J = \partial h$:

- on a linear field $h = Ay$ (simultaneous gd): $\tilde h = (A - \tfrac{α}{2}A^2)y$ exactly;
- on a linear field, for the one-step rules, $\tilde A$ agrees with the exact backward-error
  generator $\log(M)/α$ of the one-step matrix $M$ (`gdgan.update_jacobian`, i.e. what
  `gdgan.train` does) up to $O(α^2)$; for the two-step optimistic rule, the eigenvalues of
  $\tilde A$ agree with $\log(μ)/α$ for the principal eigenvalues μ of the step's matrix;
- the global error of the discrete iterates of `gdgan.train` against the flow over a fixed
  time is $O(α)$ for $h$ and $O(α^2)$ for $\tilde h$ (slopes of a log-log fit over α halvings).
"""

import diffrax
import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg
from conftest import lq_state

import gdgan

RULES = [
    (o, m) for o in ("simultaneous", "alternating") for m in ("gd", "optimistic", "extragradient")
]
RULE_IDS = [f"{o}-{m}" for o, m in RULES]
# f_1 = (a_D u_D + b_D v_D, a_G u_G + b_G v_G), u = J(h_D, 0), v = J(0, h_G), re-derived here
# from the Taylor expansion of each step (see gdgan/_modified.py) and checked below by
# trajectories, which do not use this table.
TABLE = {
    ("simultaneous", "gd"): (-0.5, -0.5, -0.5, -0.5),
    ("alternating", "gd"): (-0.5, -0.5, 0.5, -0.5),
    ("simultaneous", "optimistic"): (0.5, 0.5, 0.5, 0.5),
    ("alternating", "optimistic"): (0.5, 0.5, 1.5, 0.5),
    ("simultaneous", "extragradient"): (0.5, 0.5, 0.5, 0.5),
    ("alternating", "extragradient"): (0.5, -0.5, 0.5, 0.5),
}
OPTIMIZERS = {
    "gd": optax.sgd,
    "optimistic": optax.optimistic_gradient_descent,
    "extragradient": gdgan.extragradient,
}


def flat(tree):
    return jax.flatten_util.ravel_pytree(tree)[0]


def linear_field(A, nd):
    def field(t, y, args):
        out = A @ jnp.concatenate([y["disc"], y["gen"]])
        return {"disc": out[:nd], "gen": out[nd:]}

    return field


def random_linear(seed=0, nd=2, ng=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(nd + ng, nd + ng)) / np.sqrt(nd + ng)
    y = {"disc": jnp.asarray(rng.normal(size=nd)), "gen": jnp.asarray(rng.normal(size=ng))}
    return jnp.asarray(A), y


# -- closed forms -----------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.3, 0.05, 1e-3])
def test_linear_simultaneous_gd_is_exact(alpha):
    r"""$h = Ay$: $J = A$ everywhere, so $\tilde h = h - \tfrac{α}{2}Jh = (A - \tfrac{α}{2}A^2)y$
    with no remainder."""
    A, y = random_linear()
    mf = gdgan.modified_field(linear_field(A, 2), alpha)
    expected = (A - 0.5 * alpha * A @ A) @ flat(y)
    np.testing.assert_allclose(flat(mf(0.0, y, None)), expected, rtol=1e-13, atol=1e-13)


def _matrix(field, n):
    return jax.jacfwd(lambda z: flat(field(0.0, {"disc": z[:2], "gen": z[2:]}, None)))(jnp.zeros(n))


@pytest.mark.parametrize(
    "order,method",
    [r for r in RULES if r[1] != "optimistic"],
    ids=[i for i in RULE_IDS if "optimistic" not in i],
)
def test_linear_one_step_rules_match_the_matrix_logarithm(order, method):
    r"""For $h = Ay$ a one-step rule is linear, $θ_{k+1} = Mθ_k$ (its matrix from
    `gdgan.update_jacobian`, which runs `gdgan.train`'s step), and the iterates lie exactly
    on the flow of the linear field $\log(M)/α$. The modified field's matrix $\tilde A$ must
    agree with it to $O(α^2)$, while $A$ is only $O(α)$ close: halving α quarters
    $\|\tilde A - \log(M)/α\|$ and halves $\|A - \log(M)/α\|$."""
    A, _ = random_linear(1)
    field = linear_field(A, 2)
    y_star = {"disc": jnp.zeros(2), "gen": jnp.zeros(3)}
    errs, plain = [], []
    for alpha in (0.04, 0.02, 0.01):
        M, _ = gdgan.update_jacobian(field, y_star, OPTIMIZERS[method](alpha), order=order)
        assert M.shape == (5, 5)
        L = np.real(scipy.linalg.logm(np.asarray(M))) / alpha
        At = _matrix(gdgan.modified_field(field, alpha, order=order, method=method), 5)
        errs.append(np.linalg.norm(At - L))
        plain.append(np.linalg.norm(A - L))
    for a, b in zip(errs, errs[1:]):
        assert 3.6 < a / b < 4.4
    for a, b in zip(plain, plain[1:]):
        assert 1.8 < a / b < 2.2
    assert errs[-1] < 0.05 * plain[-1]


@pytest.mark.parametrize("order", ["simultaneous", "alternating"])
def test_linear_optimistic_matches_the_principal_eigenvalues(order):
    r"""Optimistic steps are a two-step method: on $(θ, g_{prev})$ the step is linear with a
    $2n \times 2n$ matrix (`gdgan.update_jacobian`) whose $n$ principal eigenvalues μ are
    $e^{αλ}$ for the eigenvalues λ of the field the iterates follow (the other $n$ are
    $O(α)$, parasitic). So $\log(μ)/α$ must match the eigenvalues of $\tilde A$ to $O(α^2)$
    and those of $A$ only to $O(α)$."""
    A, _ = random_linear(2)
    field = linear_field(A, 2)
    y_star = {"disc": jnp.zeros(2), "gen": jnp.zeros(3)}

    def gap(lam, target):
        return max(np.min(np.abs(target - lv)) for lv in lam)

    errs, plain = [], []
    for alpha in (0.04, 0.02, 0.01):
        M, _ = gdgan.update_jacobian(
            field, y_star, optax.optimistic_gradient_descent(alpha), order=order
        )
        mu = np.linalg.eigvals(np.asarray(M))
        principal = np.log(mu[np.abs(mu) > 0.5].astype(complex)) / alpha
        assert principal.shape == (5,)
        At = _matrix(gdgan.modified_field(field, alpha, order=order, method="optimistic"), 5)
        errs.append(gap(np.linalg.eigvals(np.asarray(At)), principal))
        plain.append(gap(np.linalg.eigvals(np.asarray(A)), principal))
    for a, b in zip(errs, errs[1:]):
        assert 3.5 < a / b < 4.5
    for a, b in zip(plain, plain[1:]):
        assert 1.7 < a / b < 2.3


@pytest.mark.parametrize("alpha", [0.2, 0.05, 0.01])
def test_dirac_wgan_modified_eigenvalues(alpha):
    r"""Dirac-GAN WGAN: $V = -ψθ$, $h = (-θ, ψ)$, $J = [[0, -1], [1, 0]]$, $J^2 = -I$.
    At the equilibrium $h = 0$, so the Jacobian of $h + αf_1$ is $J + α\,\partial f_1$ with
    $\partial u = J P_D J$, $\partial v = J P_G J$. Simultaneous gd:
    $J - \tfrac{α}{2}J^2 = J + \tfrac{α}{2}I$, eigenvalues $\tfrac{α}{2} ± i$ (the iterates
    spiral out). Alternating gd: $\partial f_1 = \mathrm{diag}(\tfrac12, -\tfrac12)$, so
    $[[α/2, -1], [1, -α/2]]$ with trace 0 and determinant $1 - α^2/4$: eigenvalues
    $±i\sqrt{1 - α^2/4}$, real part 0 (the iterates circle; $O(α^2)$ is all the claim needs)."""
    s = gdgan.systems.get("dirac", loss="wgan")
    z0, unravel = jax.flatten_util.ravel_pytree(s.equilibrium)

    def eig(order):
        mf = gdgan.modified_field(s.field(), alpha, order=order)
        Jt = jax.jacfwd(lambda z: flat(mf(0.0, unravel(z), None)))(z0)
        lam = np.linalg.eigvals(np.asarray(Jt))
        return lam[np.argsort(-lam.imag)]

    np.testing.assert_allclose(eig("simultaneous"), [alpha / 2 + 1j, alpha / 2 - 1j], atol=1e-12)
    lam = eig("alternating")
    assert np.max(np.abs(lam.real)) <= alpha**2
    np.testing.assert_allclose(
        lam.imag, [np.sqrt(1 - alpha**2 / 4), -np.sqrt(1 - alpha**2 / 4)], atol=1e-12
    )


@pytest.mark.parametrize("order,method", RULES, ids=RULE_IDS)
def test_correction_equals_finite_differences(order, method):
    r"""Away from equilibria, on a nonlinear regularised field (LQ GAN + gradient penalty):
    $u = J(h_D, 0)$ and $v = J(0, h_G)$ by central differences of $h$ (step $10^{-5}$,
    error $\sim 10^{-10}$), combined as in the derivation's table."""
    s = gdgan.systems.get("lq", loss="gan")
    field = s.field(gdgan.GradientPenalty(0.5))
    y = lq_state(0.3, 1.4)
    alpha, eps = 0.07, 1e-5
    h = flat(field(0.0, y, None))
    _, unravel = jax.flatten_util.ravel_pytree(y)

    def jvp_fd(d):
        return (
            flat(field(0.0, unravel(flat(y) + eps * d), None))
            - flat(field(0.0, unravel(flat(y) - eps * d), None))
        ) / (2 * eps)

    u = jvp_fd(jnp.array([h[0], 0.0]))
    v = jvp_fd(jnp.array([0.0, h[1]]))
    a_d, b_d, a_g, b_g = TABLE[(order, method)]
    expected = h + alpha * jnp.array([a_d * u[0] + b_d * v[0], a_g * u[1] + b_g * v[1]])
    mf = gdgan.modified_field(field, alpha, order=order, method=method)
    np.testing.assert_allclose(flat(mf(0.0, y, None)), expected, rtol=1e-8, atol=1e-9)


# -- global error against gdgan.train -------------------------------------------------------
@eqx.filter_jit
def _flow_end(field, y0, t1):
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Dopri8(),
        0.0,
        t1,
        None,
        y0,
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
        max_steps=100_000,
    )
    return jax.tree_util.tree_map(lambda a: a[-1], sol.ys)


def _dist(a, b):
    return float(jnp.linalg.norm(flat(a) - flat(b)))


ALPHAS = np.array([0.02, 0.01, 0.005, 0.0025])
T = 5.0


def _iterates(s, y0, alpha, order, method, regularizers=()):
    n = int(round(T / alpha))
    out = gdgan.train(
        s.game, y0, OPTIMIZERS[method](alpha), n, order=order, regularizers=regularizers, stride=n
    )
    return out.y_final


def _slope(errors):
    return np.polyfit(np.log(ALPHAS), np.log(errors), 1)[0]


def _global_errors(s, regularizers, y0, order, method):
    field = s.field(*regularizers)
    ref = _flow_end(field, y0, T)
    plain, modified = [], []
    for alpha in ALPHAS:
        y_n = _iterates(s, y0, alpha, order, method, regularizers)
        mf = gdgan.modified_field(field, jnp.asarray(alpha), order=order, method=method)
        plain.append(_dist(ref, y_n))
        modified.append(_dist(_flow_end(mf, y0, T), y_n))
    return np.array(plain), np.array(modified)


@pytest.mark.parametrize("order,method", RULES, ids=RULE_IDS)
def test_global_error_slopes_lq_wgan(order, method):
    r"""LQ WGAN from (0, 1.5) over T = 5 with `gdgan.train` (optax sgd, optimistic, or
    gdgan.extragradient; D first when alternating), α = 0.02 … 0.0025: the iterates' distance
    to the plain flow shrinks like α (slope in [0.8, 1.2]), to the modified flow like α²
    (slope in [1.7, 2.3]), and the modified flow is the closer one at every α."""
    s = gdgan.systems.get("lq", loss="wgan")
    plain, modified = _global_errors(s, (), s.init, order, method)
    assert 0.8 <= _slope(plain) <= 1.2, plain
    assert 1.7 <= _slope(modified) <= 2.3, modified
    assert np.all(modified < plain)


@pytest.mark.parametrize(
    "order,method",
    [("alternating", "gd"), ("simultaneous", "extragradient")],
    ids=["alternating-gd", "simultaneous-extragradient"],
)
def test_global_error_slopes_regularised_gan(order, method):
    r"""As above on a field with every Jacobian block nonzero: the saturating LQ GAN with
    the gradient penalty η = 0.5 (regularizers applied by `gdgan.train` too)."""
    s = gdgan.systems.get("lq", loss="gan")
    regs = (gdgan.GradientPenalty(0.5),)
    plain, modified = _global_errors(s, regs, lq_state(0.3, 1.4), order, method)
    assert 0.8 <= _slope(plain) <= 1.2, plain
    assert 1.7 <= _slope(modified) <= 2.3, modified


@pytest.mark.parametrize(
    "order,method",
    [("simultaneous", "gd"), ("alternating", "gd"), ("alternating", "optimistic")],
    ids=["simultaneous-gd", "alternating-gd", "alternating-optimistic"],
)
def test_drift_correction_cancels_the_first_order_drift(order, method):
    r"""Training with `DriftCorrection(α)` follows $h' + αf_1[h'] = h + O(α^2)$: its
    iterates track the flow of the *unregularised* LQ WGAN to $O(α^2)$ (slope in
    [1.7, 2.3]), where plain training is only $O(α)$ close (previous tests)."""
    s = gdgan.systems.get("lq", loss="wgan")
    ref = _flow_end(s.field(), s.init, T)
    errs = [
        _dist(
            ref,
            _iterates(
                s, s.init, a, order, method, (gdgan.DriftCorrection(a, order=order, method=method),)
            ),
        )
        for a in ALPHAS
    ]
    assert 1.7 <= _slope(errs) <= 2.3, errs


def test_drift_correction_jacobian_and_identity():
    r"""At an equilibrium the corrected field's Jacobian is $J + \tfrac{α}{2}J^2$ (simultaneous
    gd), the opposite of the modified field's drift; away from it $h' = 2h - \tilde h$."""
    s = gdgan.systems.get("lq", loss="gan")
    alpha = 0.1
    J = gdgan.jacobian(s.field(), s.equilibrium)
    Jc = gdgan.jacobian(s.field(gdgan.DriftCorrection(alpha)), s.equilibrium)
    np.testing.assert_allclose(Jc, J + 0.5 * alpha * J @ J, atol=1e-12)
    y = lq_state(0.2, 0.8)
    for order, method in RULES:
        corrected = flat(
            s.field(gdgan.DriftCorrection(alpha, order=order, method=method))(0.0, y, None)
        )
        modified = flat(
            gdgan.modified_field(s.field(), alpha, order=order, method=method)(0.0, y, None)
        )
        np.testing.assert_allclose(
            corrected, 2 * flat(s.field()(0.0, y, None)) - modified, rtol=1e-12, atol=1e-14
        )


# -- transformations ---------------------------------------------------------------------------
def test_vmap_over_lr_equals_a_loop_and_jit_equals_eager():
    s = gdgan.systems.get("lq", loss="gan")
    y = lq_state(0.2, 0.8)
    lrs = jnp.array([0.01, 0.1, 0.3])

    def at(lr):
        return gdgan.modified_field(s.field(), lr, order="alternating")(0.0, y, None)

    batched = jax.vmap(at)(lrs)
    jitted = jax.jit(at)
    for i, lr in enumerate(lrs):
        eager = at(float(lr))
        np.testing.assert_allclose(
            flat(jax.tree_util.tree_map(lambda a: a[i], batched)), flat(eager), rtol=1e-13
        )
        np.testing.assert_allclose(flat(jitted(lr)), flat(eager), rtol=1e-13)
    # lr is an array leaf: vmap over a module of modified fields
    mfs = eqx.filter_vmap(lambda lr: gdgan.modified_field(s.field(), lr))(lrs)
    assert mfs.lr.shape == (3,)


def test_network_with_non_array_leaves():
    """Any field, matrix-free: a discriminator that is an equinox MLP (whose activation is
    a non-array leaf of the state). The output has the field's structure (None there) and
    its inexact part equals $h - \tfrac{α}{2}Jh$ with the dense $J$ of the flattened field
    (`jax.jacfwd`)."""
    key = jax.random.PRNGKey(0)
    mlp = eqx.nn.MLP("scalar", "scalar", 3, 1, key=key)
    game = gdgan.Game(
        None, lambda p, z: p["a"] * z, gdgan.Normal(0.0, 1.0), gdgan.Normal(0.0, 1.0), loss="wgan"
    )
    field = gdgan.vector_field(game)
    y = {"disc": mlp, "gen": {"a": jnp.asarray(1.3)}}
    out = eqx.filter_jit(gdgan.modified_field(field, 0.1))(0.0, y, None)
    h = eqx.filter_jit(field)(0.0, y, None)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(h)
    params, static = eqx.partition(y, eqx.is_inexact_array)
    z0, unravel = jax.flatten_util.ravel_pytree(params)

    def hf(z):
        return flat(
            eqx.filter(field(0.0, eqx.combine(unravel(z), static), None), eqx.is_inexact_array)
        )

    J = jax.jit(jax.jacfwd(hf))(z0)
    np.testing.assert_allclose(
        flat(eqx.filter(out, eqx.is_inexact_array)),
        jax.jit(hf)(z0) - 0.05 * J @ jax.jit(hf)(z0),
        rtol=1e-10,
        atol=1e-12,
    )


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "lr,exc",
    [
        (0.0, ValueError),
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("a", TypeError),
        (None, TypeError),
        (True, TypeError),
        ([0.1, 0.2], ValueError),
    ],
)
def test_bad_lr(lr, exc):
    s = gdgan.systems.get("dirac", loss="wgan")
    with pytest.raises(
        exc, match=r"(modified_field|DriftCorrection): lr: expected a positive finite number"
    ):
        gdgan.modified_field(s.field(), lr)
    with pytest.raises(
        exc, match=r"(modified_field|DriftCorrection): lr: expected a positive finite number"
    ):
        gdgan.DriftCorrection(lr)


def test_bad_choices_and_field():
    s = gdgan.systems.get("dirac", loss="wgan")
    with pytest.raises(
        ValueError,
        match=r"^(modified_field|DriftCorrection): order: expected one of \['simultaneous', ",
    ):
        gdgan.modified_field(s.field(), 0.1, order="sequential")
    with pytest.raises(
        ValueError,
        match=r"^(modified_field|DriftCorrection): method: expected one of \['gd', 'optimistic', ",
    ):
        gdgan.modified_field(s.field(), 0.1, method="adam")
    with pytest.raises(
        ValueError, match=r"^(modified_field|DriftCorrection): method: expected one of"
    ):
        gdgan.DriftCorrection(0.1, method="adam")
    with pytest.raises(
        ValueError, match=r"^(modified_field|DriftCorrection): order: expected one of"
    ):
        gdgan.DriftCorrection(0.1, order=None)
    with pytest.raises(TypeError, match=r"^modified_field: field: expected a callable"):
        gdgan.modified_field(3.0, 0.1)
    with pytest.raises(ValueError, match=r"expected a dict \{'disc'"):
        gdgan.modified_field(s.field(), 0.1)(0.0, {"d": 1.0}, None)


def test_traced_bad_lr_raises_inside_jit():
    s = gdgan.systems.get("dirac", loss="wgan")

    @jax.jit
    def f(lr):
        return gdgan.modified_field(s.field(), lr)(0.0, s.init, None)

    f(0.1)
    with pytest.raises(Exception, match="lr: expected a positive finite number"):
        jax.block_until_ready(f(-0.1))


# -- discrete iterates on a field ----------------------------------------------------------------
@pytest.mark.parametrize("order,method", RULES, ids=RULE_IDS)
def test_discrete_iterates_equal_train(order, method):
    """`discrete_iterates` runs `gdgan.train`'s step on a field: identical iterates."""
    from gdgan._modified import discrete_iterates

    s = gdgan.systems.get("lq", loss="gan")
    regs = (gdgan.GradientPenalty(0.5),)
    ys = discrete_iterates(s.field(*regs), s.init, 0.05, 12, order=order, method=method)
    out = gdgan.train(s.game, s.init, OPTIMIZERS[method](0.05), 12, order=order, regularizers=regs)
    for a, b in zip(jax.tree_util.tree_leaves(ys), jax.tree_util.tree_leaves(out.ys)):
        assert a.shape == (13,)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="discrete_iterates: steps: expected a positive integer"):
        discrete_iterates(s.field(), s.init, 0.05, 0)


# -- plot ---------------------------------------------------------------------------------------
def test_plot_modified_flow(tmp_path):
    """The figure has the three curves, with the modified flow closer to the last iterate
    than the plain flow (the distances are in the legend)."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    s = gdgan.systems.get("dirac", loss="wgan")
    fig = gdgan.plot.modified_flow(s, s.init, 0.1, 40)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert "psi" in ax.get_xlabel() and "theta" in ax.get_ylabel() and ax.get_title()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    plain = next(t for t in texts if t.startswith("plain flow"))
    modified = next(t for t in texts if t.startswith("modified flow"))
    assert any(t.startswith("discrete iterates (40 steps)") for t in texts)
    dist = lambda t: float(t.split("distance at T: ")[1].rstrip(")"))  # noqa: E731
    assert dist(modified) < 0.2 * dist(plain)
    fig.savefig(tmp_path / "mf.png")
    assert (tmp_path / "mf.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="2-parameter"):
        gdgan.plot.modified_flow(s.field(), {"disc": jnp.zeros(2), "gen": jnp.zeros(1)}, 0.1, 5)
    with pytest.raises(ValueError, match="lr: expected a positive finite number"):
        gdgan.plot.modified_flow(s, s.init, -0.1, 5)


# -- reproduction section `drift` ----------------------------------------------------------------
def _good_rows():
    alphas = [0.02, 0.01, 0.005]
    rows = []
    for system in ("dirac-wgan", "lq-wgan"):
        for order in ("simultaneous", "alternating"):
            rows.append(
                dict(
                    system=system,
                    order=order,
                    method="gd",
                    alphas=alphas,
                    plain_errors=[2.0 * a for a in alphas],
                    modified_errors=[3.0 * a**2 for a in alphas],
                )
            )
    return rows


def test_verdict_drift_both_ways():
    """Slopes 1 and 2 pass; slopes 1 and 1 (the modified flow no better than the plain
    one), a missing required row, too few step sizes, non-finite errors, a modified flow
    farther than the plain flow and no rows at all fail."""
    from gdgan._reproduce.drift import verdict_drift

    ok, reason = verdict_drift({"rows": _good_rows()})
    assert ok, reason
    rows = _good_rows()
    rows[1]["modified_errors"] = [0.5 * a for a in rows[1]["alphas"]]
    ok, reason = verdict_drift({"rows": rows})
    assert not ok and "modified-flow slope 1.00" in reason
    rows = _good_rows()
    rows[0]["plain_errors"] = [a**2 for a in rows[0]["alphas"]]
    assert not verdict_drift({"rows": rows})[0]
    ok, reason = verdict_drift({"rows": _good_rows()[1:]})
    assert not ok and "missing rows: dirac-wgan/simultaneous/gd" in reason
    rows = _good_rows()
    for r in rows:
        r["alphas"], r["plain_errors"], r["modified_errors"] = (
            r["alphas"][:2],
            r["plain_errors"][:2],
            r["modified_errors"][:2],
        )
    assert not verdict_drift({"rows": rows})[0]
    rows = _good_rows()
    rows[2]["modified_errors"][0] = float("nan")
    assert not verdict_drift({"rows": rows})[0]
    rows = _good_rows()
    rows[3]["modified_errors"] = [3000.0 * a**2 for a in rows[3]["alphas"]]
    ok, reason = verdict_drift({"rows": rows})
    assert not ok and "not closer" in reason
    assert verdict_drift({"rows": []}) == (False, "no row was measured")
    assert not verdict_drift({})[0]


def test_drift_section_quick(tmp_path):
    """The section end to end in its quick configuration: registered, reproduced, with
    figures and a table."""
    pytest.importorskip("matplotlib")
    from gdgan._reproduce import REPRODUCTIONS, reproductions

    assert "drift" in reproductions()
    sec = REPRODUCTIONS["drift"](tmp_path, True)
    assert sec.reproduced, sec.reason
    assert len(sec.numbers["rows"]) == 4
    for r in sec.numbers["rows"]:
        assert abs(r["plain_slope"] - 1) < 0.3 and abs(r["modified_slope"] - 2) < 0.3
    for fig in sec.figures:
        assert (tmp_path / fig).stat().st_size > 10_000
    assert "| dirac-wgan | gd (simultaneous) |" in sec.table
