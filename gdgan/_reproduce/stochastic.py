"""Reproduction `stochastic`: minibatch SGD, its SDE and the Lyapunov prediction around the
LQ GAN's equilibrium, and the probability of leaving the basin (issue 8, part 2)."""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import systems
from .._analysis import jacobian
from .._distributions import Samples
from .._field import vector_field
from .._regularizers import GradientPenalty
from .._sde import empirical_covariance, gradient_covariance, sde, stationary_covariance
from .._tree import ravel_arrays
from ._figures import _plt, _save
from ._section import Section, register

# The protocol of `verdict_stochastic`, fixed before the runs it judges (issue 12): the
# relative error allowed is 3 standard errors + REL_TOL, capped at REL_CAP; the plug-in
# penalty's bias shows when its SGD mean lies at least BIAS_RATIO times farther from θ*
# than the unbiased estimate's. The paths are the seeds (≥ MIN_PATHS).
REL_TOL = 0.10
REL_CAP = 0.15
BIAS_RATIO = 2.0
MIN_PATHS = 5


# -- minibatch SGD, vmapped over (α, b, η) and paths ------------------------------------------
def _minibatch_field(game, eta, b, unbiased, b_max, key):
    """The field on a fresh minibatch of `b` (an array, ≤ `b_max`) pairs: `b_max` pairs are
    drawn and the first `b` get weight 1/b, so `b` can be vmapped. With `b == b_max` this
    is exactly `gdgan.train`'s minibatch (same key use). `unbiased` (an array flag) picks
    `GradientPenalty(eta, unbiased=True)` over the plug-in penalty."""
    kx, kz = jax.random.split(key)
    x, z = game.data.sample(kx, b_max), game.latent.sample(kz, b_max)
    w = jnp.where(jnp.arange(b_max) < b, 1.0 / b, 0.0).astype(x.dtype)
    g = eqx.tree_at(lambda g_: g_.expectation, game, Samples((x, w), (z, w)))
    plug, fixed = (vector_field(g, GradientPenalty(eta, unbiased=u)) for u in (False, True))
    return lambda t, y, args: jax.tree_util.tree_map(
        lambda a, c: jnp.where(unbiased, c, a), plug(t, y, args), fixed(t, y, args)
    )


@eqx.filter_jit
def sgd_paths(game, y0, lr, batch, eta, keys, steps, stride, b_max, unbiased=None):
    """Simultaneous minibatch SGD $θ ← θ + α h_B(θ)$ with `GradientPenalty(eta)`, from `y0`,
    for `steps` steps, one path per key; `lr`, `batch`, `eta` are arrays of configurations.
    `unbiased`: per-configuration flags for the unbiased minibatch penalty (default none).
    Returns states with leading `(configs, paths, steps // stride)` axes (every `stride`-th
    iterate). The key schedule is `gdgan.train`'s, so with `batch == b_max` a path equals
    `gdgan.train(game, y0, optax.sgd(lr), steps, batch=b_max, key=k, ...)`'s iterates."""

    unbiased = jnp.zeros_like(eta, dtype=bool) if unbiased is None else unbiased

    def run(lr, b, eta, u, k):
        def body(carry, _):
            p, k = carry
            k, sub = jax.random.split(k)
            h = _minibatch_field(game, eta, b, u, b_max, jax.random.split(sub)[0])(0.0, p, None)
            return (jax.tree_util.tree_map(lambda a, d: a + lr * d, p, h), k), None

        def outer(carry, _):
            carry, _ = jax.lax.scan(body, carry, None, length=stride)
            return carry, carry[0]

        return jax.lax.scan(outer, (y0, k), None, length=steps // stride)[1]

    per_config = lambda lr, b, eta, u: jax.vmap(lambda k: run(lr, b, eta, u, k))(keys)  # noqa: E731
    return jax.vmap(per_config)(lr, batch, eta, unbiased)


def _take(tree, i):
    return jax.tree_util.tree_map(lambda a: a[i], tree)


# -- the measurements --------------------------------------------------------------------------
def _unbiased(c):
    return bool(c[3]) if len(c) > 3 else False


def run_sgd(configs, *, paths, steps, stride, seed=0):
    """`sgd_paths` on the LQ GAN from θ* for every `(α, b, η[, unbiased])` in `configs`
    (one compile)."""
    s = systems.get("lq", loss="gan")
    lr, bs, etas = (jnp.array([c[i] for c in configs], float) for i in range(3))
    flags = jnp.array([_unbiased(c) for c in configs])
    keys = jax.random.split(jax.random.PRNGKey(seed), paths)
    return sgd_paths(
        s.game,
        s.equilibrium,
        lr,
        bs,
        etas,
        keys,
        steps,
        stride,
        int(max(c[1] for c in configs)),
        flags,
    )


def covariance_rows(configs, ys, *, steps, stride, sde_paths, n_samples, brownian, seed=0):
    """For each `(α, b, η)` (with its SGD paths `ys`, leading axes `(configs, paths)`): the
    stationary covariance of SGD, of the SDE (noise frozen at θ*) and the Lyapunov
    predictions (continuous, and the discrete chain with step α)."""
    s = systems.get("lq", loss="gan")
    y_star = s.equilibrium
    rows = []
    for i, c in enumerate(configs):
        a, b, eta = c[:3]
        reg = GradientPenalty(eta)  # Σ and J of the expectation: the same for both estimates
        Sigma = gradient_covariance(s.game, y_star, reg, n_samples=n_samples)
        J = jacobian(s.field(reg), y_star)
        D = (a / b) * Sigma
        pred = stationary_covariance(J, D)
        pred_d = stationary_covariance(J, D, step=a)
        est = empirical_covariance(_take(ys, i), burn_in=0.2)
        out = sde(
            s.game,
            y_star,
            steps * a,
            lr=a,
            batch=b,
            regularizers=(reg,),
            noise="fixed",
            key=jax.random.PRNGKey(seed + 1),
            n_paths=sde_paths,
            n_samples=n_samples,
            dt=a / 2,
            n_save=steps // stride,
            brownian=brownian,
        )
        est_sde = empirical_covariance(out.ys, burn_in=0.2)
        tr = lambda C: float(jnp.trace(C))  # noqa: E731
        se_tr = lambda e: float(jnp.sqrt(jnp.sum(jnp.diag(e.stderr) ** 2)))  # noqa: E731
        rows.append(
            {
                "lr": a,
                "batch": b,
                "eta": eta,
                "unbiased": _unbiased(c),
                "lr_over_b": a / b,
                "sgd": np.asarray(est.cov).tolist(),
                "sgd_stderr": np.asarray(est.stderr).tolist(),
                "sgd_mean": np.asarray(est.mean).tolist(),
                "mean_offset": float(jnp.linalg.norm(est.mean - ravel_arrays(y_star))),
                "sde": np.asarray(est_sde.cov).tolist(),
                "lyapunov": np.asarray(pred).tolist(),
                "lyapunov_discrete": np.asarray(pred_d).tolist(),
                "trace_sgd": tr(est.cov),
                "trace_sgd_se": se_tr(est),
                "trace_sde": tr(est_sde.cov),
                "trace_sde_se": se_tr(est_sde),
                "trace_lyapunov": tr(pred),
                "trace_lyapunov_discrete": tr(pred_d),
            }
        )
    return rows


def escape_rows(configs, ys):
    """Fraction of SGD paths from θ* (`ys`, leading axes `(configs, paths)`) that leave the
    basin. The LQ GAN's flow leaves the half-plane a > 0 invariant and the equilibrium
    (0, σ) attracts it, so a path has left the basin when a ≤ 0 (or the state is non-finite
    / beyond 1e6) at a saved iterate."""
    paths = jax.tree_util.tree_leaves(ys)[0].shape[1]
    a_path, w_path = ys["gen"]["a"], ys["disc"]["w"]
    bad = ~jnp.isfinite(a_path) | ~jnp.isfinite(w_path) | (jnp.abs(w_path) > 1e6)
    left = jnp.any((a_path <= 0) | bad, axis=-1)  # (configs, paths)
    p = np.asarray(jnp.mean(left, axis=1))
    return [
        {
            "lr": c[0],
            "batch": c[1],
            "eta": c[2],
            "unbiased": _unbiased(c),
            "p_escape": float(pi),
            "p_escape_se": float(np.sqrt(max(pi * (1 - pi), 1.0 / paths) / paths)),
        }
        for c, pi in zip(configs, p)
    ]


# -- the verdict -------------------------------------------------------------------------------
def _rel(x, ref):
    return abs(x - ref) / abs(ref)


def verdict_stochastic(numbers):
    """(1) At the smallest α/b without penalty, SGD's and the SDE's stationary covariance
    (trace) match the Lyapunov prediction within 3 standard errors + `REL_TOL`; (2) SGD's
    trace scales like (α/b)^p with p within 0.2 of 1; (3) with the penalty estimated without
    bias (`GradientPenalty(η, unbiased=True)`), SGD's trace at the smallest α/b matches the
    penalised Lyapunov prediction the same way — the ODE's stability survives as a
    stationary distribution; (4) the plug-in minibatch penalty's bias is visible: its SGD
    mean lies at least `BIAS_RATIO` times farther from θ* than the unbiased estimate's (no
    plug-in run: fails). Tolerances: 3 standard errors + `REL_TOL`, at most `REL_CAP`.
    Returns `(reproduced, reason)`; the reason lists every failed part. (Escape
    probabilities are reported, not judged.)"""
    rows = numbers.get("covariance") or []
    plain = [r for r in rows if r["eta"] == 0]
    if not plain:
        return False, "no unpenalised covariance run was measured"
    best = min(plain, key=lambda r: r["lr_over_b"])
    fails = []
    paths = numbers.get("paths")
    if paths is not None and paths < MIN_PATHS:
        fails.append(f"{paths} paths (seeds) per configuration, the protocol needs ≥ {MIN_PATHS}")

    def check(row, which, label):
        err = _rel(row[f"trace_{which}"], row["trace_lyapunov"])
        allowed = min(3 * row[f"trace_{which}_se"] / row["trace_lyapunov"] + REL_TOL, REL_CAP)
        if not err <= allowed:
            fails.append(
                f"{label} trace differs from the Lyapunov prediction by {err:.1%} "
                f"(allowed {allowed:.1%}) at α/b = {row['lr_over_b']:g}"
            )

    check(best, "sgd", "SGD")
    check(best, "sde", "SDE")
    p = numbers.get("scaling_exponent", float("nan"))
    if not abs(p - 1) <= 0.2:
        fails.append(f"the SGD covariance scales like (α/b)^{p:.2f}, not (α/b)^1")
    same = [
        r for r in rows if r["eta"] > 0 and r["lr"] == best["lr"] and r["batch"] == best["batch"]
    ]
    fixed = [r for r in same if r.get("unbiased")]
    plug = [r for r in same if not r.get("unbiased")]
    if not fixed:
        fails.append("no unbiased-penalty run at the smallest α/b")
    else:
        check(fixed[0], "sgd", "penalised (unbiased) SGD")
    if not plug:
        fails.append("no plug-in-penalty run at the smallest α/b: its bias was not measured")
    elif fixed and not plug[0]["mean_offset"] >= BIAS_RATIO * fixed[0]["mean_offset"]:
        fails.append(
            f"the plug-in penalty's SGD mean is not biased beyond the margin (offset "
            f"{plug[0]['mean_offset']:.3g} vs {fixed[0]['mean_offset']:.3g} unbiased; the "
            f"protocol needs ≥ {BIAS_RATIO:g}×)"
        )
    if fails:
        return False, "; ".join(fails)
    return True, (
        f"at α/b = {best['lr_over_b']:g} SGD and the SDE match the Lyapunov "
        f"covariance, it scales like (α/b)^{p:.2f}, penalised SGD does too when the "
        f"penalty is estimated without bias, and the plug-in penalty's mean lies "
        f"{plug[0]['mean_offset'] / fixed[0]['mean_offset']:.3g}× farther from θ*"
    )


def scaling_exponent(rows):
    """Least-squares slope of log tr C_SGD against log(α/b) over the η = 0 rows."""
    plain = [r for r in rows if r["eta"] == 0]
    x = np.log([r["lr_over_b"] for r in plain])
    y = np.log([r["trace_sgd"] for r in plain])
    return float(np.polyfit(x, y, 1)[0]) if len(set(x)) > 1 else float("nan")


# -- report --------------------------------------------------------------------------------------
def _table(rows):
    lines = [
        "| α | b | η | penalty estimate | tr C SGD | tr C SDE | tr C Lyapunov | (discrete) | mean a (SGD) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        est = "—" if r["eta"] == 0 else ("unbiased" if r.get("unbiased") else "plug-in")
        lines.append(
            f"| {r['lr']:g} | {r['batch']:g} | {r['eta']:g} | {est} | {r['trace_sgd']:.3e} ± "
            f"{r['trace_sgd_se']:.1e} | {r['trace_sde']:.3e} ± {r['trace_sde_se']:.1e} | "
            f"{r['trace_lyapunov']:.3e} | {r['trace_lyapunov_discrete']:.3e} | "
            f"{r['sgd_mean'][1]:.3f} |"
        )
    return "\n".join(lines)


def _escape_table(esc):
    """P(leave the basin) per (b, penalty) row and α column."""
    lrs = sorted({r["lr"] for r in esc})
    lines = [
        "| b | η | penalty estimate | " + " | ".join(f"α = {a:g}" for a in lrs) + " |",
        "|---|---|---|" + "---|" * len(lrs),
    ]
    for (b, eta, u), group in _groupby(esc, ("batch", "eta", "unbiased")).items():
        p = {r["lr"]: r["p_escape"] for r in group}
        est = "—" if eta == 0 else ("unbiased" if u else "plug-in")
        lines.append(
            f"| {b:g} | {eta:g} | {est} | "
            + " | ".join(f"{p[a]:.2f}" if a in p else "" for a in lrs)
            + " |"
        )
    return "\n".join(lines)


def _figure(rows, esc, out):
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    lo, hi = np.inf, 0.0
    for r in rows:
        pred = np.asarray(r["lyapunov"]).ravel()
        for key, marker in (("sgd", "o"), ("sde", "x")):
            meas = np.asarray(r[key]).ravel()
            ok = np.abs(pred) > 1e-12
            color = "C0" if r["eta"] == 0 else "C3"
            ax1.scatter(pred[ok], meas[ok], marker=marker, color=color, s=18)
            lo, hi = min(lo, np.min(np.abs(pred[ok]))), max(hi, np.max(np.abs(pred[ok])))
    ax1.plot([-hi, hi], [-hi, hi], "k--", lw=0.8)
    ax1.set_xscale("symlog", linthresh=lo / 2)
    ax1.set_yscale("symlog", linthresh=lo / 2)
    ax1.set_xlabel("Lyapunov prediction $C_{ij}$")
    ax1.set_ylabel("measured $C_{ij}$ (o SGD, x SDE; blue η=0, red η>0)")
    ax1.set_title("stationary covariance, LQ GAN")
    from matplotlib.ticker import FixedLocator, NullLocator

    # decade ticks (every second one over > 3 decades), none below 2 × linthresh but 0,
    # so that labels never overlap
    k0, k1 = int(np.ceil(np.log10(lo))), int(np.floor(np.log10(hi)))
    dec = [10.0**k for k in range(k1, k0 - 1, -1 if k1 - k0 < 3 else -2)]
    ticks = [-d for d in dec] + [0.0] + dec[::-1]
    for axis in (ax1.xaxis, ax1.yaxis):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
    ax1.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax1.tick_params(axis="y", labelsize=7)
    for (b, eta, u), group in _groupby(esc, ("batch", "eta", "unbiased")).items():
        tag = "" if eta == 0 else (" unbiased" if u else " plug-in")
        ax2.errorbar(
            [r["lr"] for r in group],
            [r["p_escape"] for r in group],
            yerr=[r["p_escape_se"] for r in group],
            marker="o",
            capsize=2,
            ls="-" if eta == 0 else (":" if u else "--"),
            label=f"b={b:g}, η={eta:g}{tag}",
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("step α")
    ax2.set_ylabel("P(reach a ≤ 0, i.e. leave the basin)")
    ax2.set_title("escape within the horizon (minibatch SGD)")
    ax2.legend(fontsize=8)
    return _save(fig, out, "stochastic.png")


def _groupby(rows, keys):
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


@register("stochastic")
def stochastic(out: Path, quick: bool) -> Section:
    t = time.time()
    if quick:
        run = dict(paths=16, steps=2000, stride=4)
        cov_cfg = dict(sde_paths=8, n_samples=512, brownian="increments")
        configs = [
            (0.01, 16, 0.0),
            (0.04, 16, 0.0),
            (0.04, 4, 0.0),
            (0.01, 16, 0.5),
            (0.01, 16, 0.5, True),
        ]
        lrs, batches = (0.1, 0.3, 1.0), (2, 8)
    else:
        # 64 paths × 8 000 steps for 63 configurations (the SDE with exact Gaussian
        # increments, as quick mode): 15 minutes on 2 cores
        run = dict(paths=64, steps=8000, stride=8)
        cov_cfg = dict(sde_paths=32, n_samples=4096, brownian="increments")
        configs = [
            (a, b, e, u)
            for (e, u) in ((0.0, False), (0.5, False), (0.5, True))
            for b in (4, 16, 64)
            for a in (0.01, 0.04)
        ]
        lrs, batches = (0.03, 0.1, 0.3, 0.6, 1.0), (2, 8, 32)
    esc_configs = [
        (a, b, e, u)
        for (e, u) in ((0.0, False), (0.5, False), (0.5, True))
        for b in batches
        for a in lrs
    ]
    ys = run_sgd(configs + esc_configs, **run)
    n = len(configs)
    rows = covariance_rows(
        configs, _take(ys, slice(0, n)), steps=run["steps"], stride=run["stride"], **cov_cfg
    )
    esc = escape_rows(esc_configs, _take(ys, slice(n, None)))
    numbers = {
        "covariance": rows,
        "escape": esc,
        "scaling_exponent": scaling_exponent(rows),
        "paths": run["paths"],
    }
    ok, reason = verdict_stochastic(numbers)
    fig = _figure(rows, esc, out)
    numbers["seconds"] = round(time.time() - t, 1)
    return Section(
        name="stochastic",
        title="Stochastic gradients as an SDE",
        claim=(
            "Local stability of the ODE survives stochastic gradients: minibatch SGD with "
            "step α and batch b near a stable equilibrium behaves like "
            "dθ = h dt + √(α/b) Σ^{1/2} dW, so it settles into a stationary distribution whose "
            "covariance solves J C + C Jᵀ + (α/b) Σ(θ*) = 0 for small α and scales like α/b — "
            "with the gradient penalty too, provided its minibatch estimate is unbiased (the "
            "plug-in ‖∇_D V_B‖² is biased by tr Σ_D / b, which drags the generator off θ*). "
            "Also measured, not judged: how often paths leave the basin as α grows and b "
            "shrinks, with and without the penalty. Prior work: the minibatch bias of a "
            "squared-gradient estimate, E‖g_B‖² = ‖g‖² + tr Σ/b, is textbook, and an unbiased "
            "two-sample estimator of the squared-gradient (Hamiltonian) penalty of games is in "
            "Loizou et al. (ICML 2020, stochastic Hamiltonian gradient methods); gdgan's "
            "`GradientPenalty(unbiased=True)` is the U-statistic version for this penalty, and "
            "what this section adds is the measurement: the bias displaces the LQ GAN's "
            "stationary mean, the unbiased estimate restores the Lyapunov covariance."
        ),
        setup=(
            "LQ GAN (σ = 1), simultaneous minibatch SGD from θ* with GradientPenalty(η) "
            "(plug-in, as the authors' code, or unbiased=True), "
            f"{run['paths']} paths × {run['steps']} steps (burn-in 20 %); the SDE "
            f"with Σ frozen at θ* (Euler–Maruyama, dt = α/2, {cov_cfg['sde_paths']} paths); "
            "Σ from per-sample influences (gradient_covariance); escape: a path reaches "
            "a ≤ 0 (the basin boundary of the flow) within the same "
            f"{run['steps']} steps. Protocol (fixed in code): the {run['paths']} paths are "
            "the seeds; at the smallest α/b the traces must match the Lyapunov prediction "
            f"within 3 SE + {REL_TOL:.0%}, at most {REL_CAP:.0%}; scaling exponent within 0.2 "
            f"of 1; the plug-in mean offset ≥ {BIAS_RATIO:g}× the unbiased one."
        ),
        numbers=numbers,
        reproduced=ok,
        reason=reason,
        figures=[fig],
        table=_table(rows)
        + "\n\nProbability of leaving the basin (a ≤ 0) within the horizon:\n\n"
        + _escape_table(esc),
    )
