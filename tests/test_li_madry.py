"""Li, Madry, Peebles & Schmidt (2018): the optimal discriminator against numerical
integration and finite differences, both dynamics, the failure classifier, the vmapped grid,
the ODE fields, and the reproduction's verdict on both outcomes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from gdgan import li_madry as lm
from gdgan._results import enum_code

MU_STAR = jnp.array([-0.5, 0.5])


def _tv_quad(mu, mu_star, kinks=()):
    """½∫|p_μ − p_μ*| by adaptive quadrature. Breakpoints at the means and at `kinks` (where
    |p_μ − p_μ*| has corners) only help the quadrature; the integrand is independent."""

    c = 1.0 / math.sqrt(2 * math.pi)

    def f(x):
        p = 0.5 * c * sum(math.exp(-0.5 * (x - m) ** 2) for m in mu)
        q = 0.5 * c * sum(math.exp(-0.5 * (x - m) ** 2) for m in mu_star)
        return 0.5 * abs(p - q)

    pts = sorted(list(mu) + list(mu_star) + [float(k) for k in kinks if abs(k) < 30])
    return integrate.quad(f, -30, 30, points=pts, limit=400, epsabs=1e-13, epsrel=1e-12)[0]


def _random_pairs(n, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-scale, scale, (n, 2)), rng.uniform(-scale, scale, (n, 2))


def test_best_response_tv_equals_integrated_tv():
    mus, stars = _random_pairs(15, 0)
    tvs = jax.jit(jax.vmap(lm.tv))(jnp.asarray(mus), jnp.asarray(stars))
    ls, rs = jax.jit(jax.vmap(lm.best_response))(jnp.asarray(mus), jnp.asarray(stars))
    for mu, star, t, l, r in zip(mus, stars, np.asarray(tvs), np.asarray(ls), np.asarray(rs)):
        assert t == pytest.approx(_tv_quad(mu, star, np.r_[l, r]), abs=1e-9)
    # the reference setting, and identical mixtures (TV = 0, no interval)
    assert float(lm.tv(jnp.array([0.5, -0.5]), MU_STAR)) == pytest.approx(0.0, abs=1e-14)
    l, r = lm.best_response(MU_STAR, MU_STAR)
    assert np.all(np.asarray(r - l) == 0)


def test_best_response_is_optimal():
    """Perturbing any finite endpoint of the best response never increases L."""
    mus, stars = _random_pairs(10, 1)
    rng = np.random.default_rng(2)
    best_response = jax.jit(lm.best_response)
    perturbed = jax.jit(jax.vmap(lm.objective, in_axes=(None, 0, 0, None)))
    for mu, star in zip(mus, stars):
        mu, star = jnp.asarray(mu), jnp.asarray(star)
        l, r = best_response(mu, star)
        best = float(lm.objective(mu, l, r, star))
        assert np.all(np.asarray(r >= l))
        dl, dr = rng.normal(0, 0.3, (50, 2)), rng.normal(0, 0.3, (50, 2))
        assert np.all(np.asarray(perturbed(mu, l + dl, r + dr, star)) <= best + 1e-12)


def test_gradients_closed_form_equal_autodiff():
    rng = np.random.default_rng(3)
    for _ in range(5):
        mu, l, r, star = (jnp.asarray(rng.normal(0, 1, 2)) for _ in range(4))
        auto = jax.grad(lm.objective, argnums=(0, 1, 2))(mu, l, r, star)
        for a, b in zip(lm.gradients(mu, l, r, star), auto):
            np.testing.assert_allclose(a, b, atol=1e-14)


def test_danskin_gradient_equals_finite_differences():
    """∇_μ L at the best response = ∇ of μ ↦ max_{l,r} L = 1 + TV (central differences)."""
    mus, stars = _random_pairs(10, 4)
    tv = jax.jit(lm.tv)
    h = 1e-5
    for mu, star in zip(mus, stars):
        if abs(mu[0] - mu[1]) < 0.1:
            continue
        g = np.asarray(lm.optimal_gradient(jnp.asarray(mu), jnp.asarray(star)))
        fd = np.array(
            [
                (float(tv(mu + h * e, star)) - float(tv(mu - h * e, star))) / (2 * h)
                for e in np.eye(2)
            ]
        )
        np.testing.assert_allclose(g, fd, atol=1e-7)


def test_optimal_dynamics_converge_from_separated_start():
    run = lm.optimal(jnp.array([-1.0, 0.8]), MU_STAR, 0.1, 200, stride=10)
    assert bool(run.success) and run.result_name == "success"
    assert float(run.tv[-1]) < 0.01 < float(run.tv[0])
    np.testing.assert_allclose(np.sort(np.asarray(run.mu[-1])), MU_STAR, atol=0.05)


def test_first_order_discriminator_collapse_is_classified():
    """Both intervals start left of the means, shut, and the generator stops far from μ*."""
    disc0 = {"l": jnp.array([-1.8, -1.0]), "r": jnp.array([-0.9, -0.1])}
    run = lm.first_order(jnp.array([0.5, 1.0]), disc0, MU_STAR, 0.1, 1000, stride=10)
    assert run.result_name == "discriminator_collapse"
    assert not bool(run.success)
    late = slice(-25, None)
    assert np.max(np.abs(np.asarray(run.r[late] - run.l[late]))) < 1e-3
    assert float(run.tv[-1]) > 0.1
    # the classifier agrees with itself when re-run on the history
    again = lm.classify(run.mu, run.l, run.r, run.grad_norm, MU_STAR)
    assert lm.result_name(again) == "discriminator_collapse"


def test_classifier_on_synthetic_histories():
    T = 40
    ones = np.ones((T, 2))
    far_disc = (jnp.asarray(-3 * ones), jnp.asarray(3 * ones))
    cases = {
        "success": (ones * MU_STAR, far_disc, 0.1),
        "mode_collapse": (ones * 0.2, far_disc, 0.1),
        "discriminator_collapse": (ones * [0.3, 1.0], (jnp.asarray(ones), jnp.asarray(ones)), 0.0),
        "vanishing_gradient": (ones * [0.3, 1.0], far_disc, 1e-6),
        "oscillation": (ones * [0.3, 1.0], far_disc, 0.1),
    }
    for name, (mu, (l, r), g) in cases.items():
        res = lm.classify(jnp.asarray(mu), l, r, jnp.full((T,), g), MU_STAR)
        assert lm.result_name(res) == name


def test_first_order_variants_and_errors():
    disc0 = lm.random_disc(jax.random.PRNGKey(1))
    mu0 = jnp.array([-1.0, 0.8])
    for kw in (dict(order="alternating"), dict(disc_steps=3), dict(keep_ordered=False)):
        run = lm.first_order(mu0, disc0, MU_STAR, 0.1, 50, stride=10, record_tv=False, **kw)
        assert np.all(np.isfinite(np.asarray(run.mu)))
    ordered = lm.first_order(mu0, disc0, MU_STAR, 0.5, 200, stride=1, record_tv=False)
    assert np.all(np.asarray(ordered.r - ordered.l) >= 0)
    with pytest.raises(ValueError, match="order"):
        lm.first_order(mu0, disc0, MU_STAR, 0.1, 10, order="sequential")
    with pytest.raises(ValueError, match="disc_steps"):
        lm.first_order(mu0, disc0, MU_STAR, 0.1, 10, disc_steps=0)
    with pytest.raises(ValueError, match="stride"):
        lm.first_order(mu0, disc0, MU_STAR, 0.1, 10, stride=3)
    with pytest.raises(ValueError, match="disc0"):
        lm.first_order(mu0, {"l": 1.0}, MU_STAR, 0.1, 10)


def test_grid_vmap_equals_loop():
    key = jax.random.PRNGKey(5)
    g = lm.grid(MU_STAR, key, n=3, repeats=2, steps=60, optimal_steps=40, stride=20)
    assert np.isnan(np.asarray(g.optimal_success)).sum() == 3
    keys = jax.random.split(key, 3 * 3 * 2).reshape(3, 3, 2, -1)
    for i, j in ((2, 0),):
        mu0 = jnp.stack([g.values[i], g.values[j]])
        opt = lm.optimal(mu0, MU_STAR, 0.1, 40, stride=20)
        np.testing.assert_allclose(g.optimal.mu[i, j], opt.mu, atol=1e-12)
        for k in range(2):
            fo = lm.first_order(
                mu0, lm.random_disc(keys[i, j, k]), MU_STAR, 0.1, 60, stride=20, record_tv=False
            )
            np.testing.assert_allclose(g.first_order.mu[i, j, k], fo.mu, atol=1e-12)
            assert int(enum_code(g.first_order.result)[i, j, k]) == int(enum_code(fo.result))


def test_fields():
    """The fields equal the closed-form gradients (both run through `gdgan.simulate` in
    `test_reproduction_tiny`, which checks that the optimal flow reaches μ*)."""
    y = lm.state(jnp.array([-1.0, 0.8]), lm.random_disc(jax.random.PRNGKey(0)))
    fo = lm.first_order_field(MU_STAR)
    h = fo(0.0, y, None)
    gmu, gl, gr = lm.gradients(y["gen"]["mu"], y["disc"]["l"], y["disc"]["r"], MU_STAR)
    np.testing.assert_allclose(h["gen"]["mu"], -gmu, atol=1e-14)
    np.testing.assert_allclose(h["disc"]["l"], gl, atol=1e-14)
    np.testing.assert_allclose(h["disc"]["r"], gr, atol=1e-14)
    opt = lm.optimal_field(MU_STAR, tv_tol=1e-3)
    np.testing.assert_allclose(
        opt(0.0, y, None)["gen"]["mu"], -lm.optimal_gradient(y["gen"]["mu"], MU_STAR), atol=1e-14
    )
    at_star = lm.state(jnp.array([0.5, -0.5]))
    np.testing.assert_array_equal(opt(0.0, at_star, None)["gen"]["mu"], 0.0)  # TV <= tv_tol


def test_verdict_both_outcomes():
    from gdgan._reproduce.li_madry import verdict_li_madry

    ok, reason = verdict_li_madry({"optimal_success": 1.0, "first_order_success": 0.15})
    assert ok and "100%" in reason
    for bad in (
        {"optimal_success": 0.6, "first_order_success": 0.1},
        {"optimal_success": 1.0, "first_order_success": 0.8},
        {"optimal_success": 0.9, "first_order_success": 0.5},
        {"optimal_success": float("nan"), "first_order_success": 0.1},
    ):
        ok, reason = verdict_li_madry(bad)
        assert not ok and reason


def test_reproduction_tiny(tmp_path):
    from gdgan._reproduce.li_madry import CONFIGS, run_li_madry, verdict_li_madry

    numbers, figures, table = run_li_madry(tmp_path, CONFIGS["tiny"])
    for key in (
        "optimal_success",
        "first_order_success",
        "failure_modes",
        "ode_optimal_success",
        "ode_first_order_success",
    ):
        assert key in numbers
    counts = numbers["failure_modes"]["counts"]
    assert sum(counts.values()) == 6 * CONFIGS["tiny"]["repeats"]
    assert numbers["optimal_success"] == 1.0 and numbers["ode_optimal_success"] == 1.0
    for name in figures:
        assert (tmp_path / name).stat().st_size > 0
    assert "first-order" in table
    assert isinstance(verdict_li_madry(numbers)[0], bool)
    from gdgan._reproduce import reproductions

    assert "li-madry" in reproductions()


def test_full_order_projection_is_isotonic_regression():
    """`_order_full` is the Euclidean projection onto l₁ ≤ r₁ ≤ l₂ ≤ r₂: it equals
    scikit-learn's isotonic regression on random endpoints, and leaves ordered ones alone."""
    from sklearn.isotonic import isotonic_regression

    from gdgan.systems import _li_madry as lm_

    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.normal(size=4)
        l, r = lm_._order_full(jnp.asarray(x[[0, 2]]), jnp.asarray(x[[1, 3]]))
        got = np.array([l[0], r[0], l[1], r[1]])
        np.testing.assert_allclose(got, isotonic_regression(x), atol=1e-12)
    x = np.sort(rng.normal(size=4))
    l, r = lm_._order_full(jnp.asarray(x[[0, 2]]), jnp.asarray(x[[1, 3]]))
    np.testing.assert_allclose([l[0], r[0], l[1], r[1]], x, atol=0)


def test_simultaneous_k_steps_reach_the_generator_and_separate_step_sizes():
    """With `order="simultaneous"` and k discriminator steps, one round's generator
    gradient is taken after k − 1 discriminator steps (so the extra steps reach it), the
    discriminator moving with step `eta_disc`; checked against the round written out."""
    from gdgan.systems import _li_madry as lm_

    mu_star = jnp.array([-0.5, 0.5])
    mu, disc = jnp.array([-0.9, 0.7]), {"l": jnp.array([-1.2, 0.1]), "r": jnp.array([-0.3, 1.4])}
    eta, eta_d = 0.1, 0.3
    run = lm.first_order(mu, disc, mu_star, eta, 1, disc_steps=3, eta_disc=eta_d, record_tv=False)
    l, r = disc["l"], disc["r"]
    for i in range(3):
        if i == 2:
            g = lm.gradients(mu, l, r, mu_star)[0]
        _, gl, gr = lm.gradients(mu, l, r, mu_star)
        l, r = lm_._order(l + eta_d * gl, r + eta_d * gr)
    np.testing.assert_allclose(run.mu[-1], mu - eta * g, rtol=1e-12)
    np.testing.assert_allclose(run.l[-1], l, rtol=1e-12)


def test_one_compilation_serves_every_variant(monkeypatch):
    """`first_order`'s compiled core is traced once for every order, projection, number of
    discriminator steps, step size and threshold, also under `vmap` over the step size and a
    traced boolean `order` (which gives the string order's run exactly); `optimal`'s core once
    for every step size and threshold. Traces are counted through `classify`, which each core
    calls once per trace; the sizes (21 and 14 steps, stride 7) appear in no other test, so the
    first call of each core traces."""
    from gdgan.systems import _li_madry as lm_

    traces = []
    classify = lm_.classify

    def counting(*args, **kwargs):
        traces.append(1)
        return classify(*args, **kwargs)

    monkeypatch.setattr(lm_, "classify", counting)
    mu0, disc0 = jnp.array([-1.0, 0.8]), lm.random_disc(jax.random.PRNGKey(2))

    def fo(eta, **kw):
        return lm.first_order(mu0, disc0, MU_STAR, eta, 21, stride=7, record_tv=False, **kw)

    runs = {}
    for name, kw in (
        ("simultaneous", {}),
        ("alternating", dict(order="alternating")),
        ("unordered", dict(keep_ordered=False)),
        ("full", dict(full_order=True)),
        ("k3", dict(disc_steps=3, eta_disc=0.3)),
        ("tols", dict(success_tol=0.3, collapse_tol=0.2, width_tol=0.1, grad_tol=0.1)),
    ):
        runs[name] = fo(0.2 if name == "alternating" else 0.1, **kw)
    assert not np.array_equal(runs["simultaneous"].mu, runs["alternating"].mu)
    batch = jax.vmap(lambda eta, alt: fo(eta, order=alt))(
        jnp.array([0.1, 0.2]), jnp.array([False, True])
    )
    np.testing.assert_array_equal(batch.mu[0], runs["simultaneous"].mu)
    np.testing.assert_array_equal(batch.mu[1], runs["alternating"].mu)
    assert len(traces) == 1
    for eta, kw in ((0.1, {}), (0.3, dict(success_tol=0.2, grad_tol=1e-2))):
        lm.optimal(mu0, MU_STAR, eta, 14, stride=7, **kw)
    assert len(traces) == 2


def test_first_order_choice_errors():
    """`order` is one of the named orders or a boolean; `grid` checks its choices too."""
    mu0, disc0 = jnp.array([-1.0, 0.8]), lm.random_disc(jax.random.PRNGKey(1))
    with pytest.raises(ValueError, match="order"):
        lm.first_order(mu0, disc0, MU_STAR, 0.1, 10, order=1)
    with pytest.raises(TypeError, match="keep_ordered"):
        lm.first_order(mu0, disc0, MU_STAR, 0.1, 10, keep_ordered="yes")
    with pytest.raises(ValueError, match="order"):
        lm.grid(MU_STAR, jax.random.PRNGKey(0), n=2, repeats=1, steps=10, order="sequential")
    with pytest.raises(ValueError, match="disc_steps"):
        lm.grid(MU_STAR, jax.random.PRNGKey(0), n=2, repeats=1, steps=10, disc_steps=0)
    with pytest.raises(ValueError, match="optimal_steps"):
        lm.grid(MU_STAR, jax.random.PRNGKey(0), n=2, repeats=1, steps=10, optimal_steps=0)


def test_reproduction_uses_the_public_model():
    """The reproduction reaches Li et al.'s model only through `gdgan.li_madry`'s public
    names (no private module, no private attribute)."""
    import ast
    import inspect

    from gdgan._reproduce import li_madry as rep

    tree = ast.parse(inspect.getsource(rep))
    modules = [
        f"{n.module}.{a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    ]
    assert not any("_li_madry" in m for m in modules)
    used = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "lm"
    }
    assert "first_order" in used and used <= set(lm.__all__)
