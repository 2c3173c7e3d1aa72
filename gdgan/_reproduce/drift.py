"""Reproduction `drift`: the modified flow of discrete training (backward error analysis;
Rosca, Wu, Dherin & Barrett, ICML 2021; Lu 2020) predicts what discrete steps do on the
Dirac-GAN and the LQ WGAN — simultaneous gd spirals out of the centre, alternating gd
circles it — measured by the global error of the plain and the modified flow against the
iterates of `gdgan.train` as the step halves (slopes ≈ 1 and ≈ 2)."""

from __future__ import annotations

from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import systems
from .._modified import modified_field
from .._train import extragradient, train
from .._tree import tree_distance
from ._figures import _plt, _save
from ._section import Section, register

# -- protocol (fixed before any result was looked at) -------------------------------------------
SYSTEMS = {"dirac-wgan": ("dirac", {"loss": "wgan"}), "lq-wgan": ("lq", {"loss": "wgan"})}
HORIZON = 5.0  # the fixed time T over which iterates and flows are compared (T/α steps)
SLOPE_TOL = 0.3  # plain slope within 1 ± 0.3, modified slope within 2 ± 0.3
GD_RULES = (("simultaneous", "gd"), ("alternating", "gd"))
ALL_RULES = GD_RULES + tuple(
    (o, m) for m in ("optimistic", "extragradient") for o in ("simultaneous", "alternating")
)
QUICK = dict(alphas=(0.02, 0.01, 0.005), rules=GD_RULES)
FULL = dict(alphas=(0.02, 0.01, 0.005, 0.0025), rules=ALL_RULES)
# the claim's rows: both gd orders on both systems must be measured
REQUIRED = tuple((s, o, m) for s in SYSTEMS for o, m in GD_RULES)
FIGURE = {"dirac-wgan": (0.1, 60), "lq-wgan": (0.05, 60)}  # (α, steps) of the phase portraits

_optimizer_of = {
    "gd": optax.sgd,
    "optimistic": optax.optimistic_gradient_descent,
    "extragradient": extragradient,
}


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
        max_steps=200_000,
    )
    return jax.tree_util.tree_map(lambda a: a[-1], sol.ys)


def slope(alphas, errors):
    """The least-squares slope of log(error) against log(α)."""
    return float(np.polyfit(np.log(np.asarray(alphas)), np.log(np.asarray(errors)), 1)[0])


def run_drift(cfg):
    """Rows `{system, order, method, alphas, plain_errors, modified_errors, plain_slope,
    modified_slope, growth}`: the distance at time T of the plain flow and of the modified
    flow to the last of the T/α iterates of `gdgan.train`, for each α; `growth` is the mean
    per-step growth of log E (E = the conserved quantity above its value at the centre) at
    the smallest α for the iterates, the modified flow and the plain flow."""
    rows = []
    for label, (name, params) in SYSTEMS.items():
        s = systems.get(name, **params)
        field = s.field()
        y0 = s.init
        ref = _flow_end(field, y0, HORIZON)

        def E(y, s=s):
            return float(s.conserved(y) - s.conserved(s.equilibrium))

        for order, method in cfg["rules"]:
            plain, mod, last = [], [], None
            for alpha in cfg["alphas"]:
                n = int(round(HORIZON / alpha))
                y_n = train(
                    s.game, y0, _optimizer_of[method](alpha), n, order=order, stride=n
                ).y_final
                mf = modified_field(field, jnp.asarray(alpha), order=order, method=method)
                y_mod = _flow_end(mf, y0, HORIZON)
                plain.append(float(tree_distance(ref, y_n)))
                mod.append(float(tree_distance(y_mod, y_n)))
                last = (n, y_n, y_mod)
            n, y_n, y_mod = last
            growth = {
                k: float(np.log(E(y) / E(y0)) / n)
                for k, y in (("iterates", y_n), ("modified", y_mod), ("plain", ref))
            }
            rows.append(
                dict(
                    system=label,
                    order=order,
                    method=method,
                    alphas=list(cfg["alphas"]),
                    plain_errors=plain,
                    modified_errors=mod,
                    plain_slope=slope(cfg["alphas"], plain),
                    modified_slope=slope(cfg["alphas"], mod),
                    growth=growth,
                )
            )
    return {"rows": rows, "horizon": HORIZON, "slope_tol": SLOPE_TOL}


def verdict_drift(numbers, *, tol=SLOPE_TOL, required=REQUIRED):
    """Reproduced when every row (and at least the `required` ones: both gd orders on both
    systems) has, recomputed from its errors over at least three step sizes, a plain-flow
    slope within 1 ± `tol` and a modified-flow slope within 2 ± `tol`, with the modified
    flow closer to the iterates than the plain flow at the smallest step."""
    rows = numbers.get("rows") or []
    if not rows:
        return False, "no row was measured"
    bad = []
    seen = {(r.get("system"), r.get("order"), r.get("method")) for r in rows}
    missing = [k for k in required if k not in seen]
    if missing:
        bad.append("missing rows: " + ", ".join("/".join(k) for k in missing))
    slopes = []
    for r in rows:
        tag = f"{r.get('system')} {r.get('method')} ({r.get('order')})"
        a, p, m = (
            np.asarray(r.get(k, []), float) for k in ("alphas", "plain_errors", "modified_errors")
        )
        if a.size < 3 or p.shape != a.shape or m.shape != a.shape:
            bad.append(f"{tag}: expected errors at ≥ 3 step sizes, got {a.size}")
            continue
        if not (
            np.all(np.isfinite(p)) and np.all(np.isfinite(m)) and np.all(p > 0) and np.all(m > 0)
        ):
            bad.append(f"{tag}: non-finite or zero errors")
            continue
        sp, sm = slope(a, p), slope(a, m)
        slopes.append(f"{tag} {sp:.2f}/{sm:.2f}")
        if abs(sp - 1.0) > tol:
            bad.append(f"{tag}: plain-flow slope {sp:.2f}, expected 1 ± {tol:g}")
        if abs(sm - 2.0) > tol:
            bad.append(f"{tag}: modified-flow slope {sm:.2f}, expected 2 ± {tol:g}")
        k = int(np.argmin(a))
        if not m[k] < p[k]:
            bad.append(f"{tag}: modified flow not closer than the plain flow at α = {a[k]:g}")
    if bad:
        return False, "; ".join(bad[:4])
    return True, (
        "the iterates stay O(α) from the plain flow and O(α²) from the modified flow; "
        "slopes plain/modified: " + ", ".join(slopes)
    )


def _table(numbers):
    head = (
        "| system | rule | plain slope | modified slope | error at smallest α (plain / modified) "
        "| per-step growth of log E (iterates / modified / plain) |\n|---|---|---|---|---|---|"
    )
    lines = []
    for r in numbers["rows"]:
        g = r["growth"]
        lines.append(
            f"| {r['system']} | {r['method']} ({r['order']}) | {r['plain_slope']:.3f} | "
            f"{r['modified_slope']:.3f} | {r['plain_errors'][-1]:.2e} / "
            f"{r['modified_errors'][-1]:.2e} | {g['iterates']:.2e} / {g['modified']:.2e} / "
            f"{g['plain']:.1e} |"
        )
    return head + "\n" + "\n".join(lines)


def _figures(numbers, out: Path):
    from ..plot._modified import modified_flow

    plt = _plt()
    fig, axes = plt.subplots(1, len(SYSTEMS), figsize=(5.5 * len(SYSTEMS), 4.5), squeeze=False)
    for ax, label in zip(axes[0], SYSTEMS):
        for i, r in enumerate(x for x in numbers["rows"] if x["system"] == label):
            c = f"C{i}"
            tag = f"{r['method']} ({r['order'][:3]}.)"
            ax.loglog(r["alphas"], r["plain_errors"], "--o", color=c, ms=4,
                      label=f"{tag} plain: {r['plain_slope']:.2f}")  # fmt: skip
            ax.loglog(r["alphas"], r["modified_errors"], "-s", color=c, ms=4,
                      label=f"{tag} modified: {r['modified_slope']:.2f}")  # fmt: skip
        ax.set(xlabel="step α", ylabel=f"distance to the iterates at T = {HORIZON:g}")
        ax.set_title(f"{label}: global error (slope in the legend)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    figs = [_save(fig, out, "drift_slopes.png")]

    fig, axes = plt.subplots(2, len(SYSTEMS), figsize=(5.5 * len(SYSTEMS), 10.0), squeeze=False)
    for j, (label, (name, params)) in enumerate(SYSTEMS.items()):
        s = systems.get(name, **params)
        alpha, steps = FIGURE[label]
        for i, order in enumerate(("simultaneous", "alternating")):
            modified_flow(s.field(), s.init, alpha, steps, order=order, ax=axes[i, j],
                          title=f"{label}: gd ({order}), α = {alpha:g}")  # fmt: skip
    figs.append(_save(fig, out, "drift_phase.png"))
    return figs


@register("drift", weight=1.0)
def drift(out: Path, quick: bool) -> Section:
    cfg = QUICK if quick else FULL
    numbers = run_drift(cfg)
    ok, reason = verdict_drift(numbers)
    figs = _figures(numbers, out)
    rules = ", ".join(f"{m} ({o})" for o, m in cfg["rules"])
    return Section(
        "drift",
        "Discretisation drift: the modified flow of discrete training",
        "Discrete gradient steps of size α follow, to O(α²) over a fixed time, the modified "
        "flow h̃ = h + αf₁ of backward error analysis (Rosca et al. 2021; Lu 2020), not the "
        "gradient flow h (only O(α)): on the WGAN Dirac-GAN and LQ WGAN it predicts that "
        "simultaneous gd spirals out of the centre (h̃ = h − (α/2)Jh, eigenvalues α/2·ω² ± iω) "
        "while alternating gd circles it (real part 0 at first order).",
        f"gdgan.train from the systems' default start over T = {HORIZON:g} (T/α steps) with "
        f"α ∈ {list(cfg['alphas'])}, rules {rules}; the plain and the modified flow "
        "(gdgan.modified_field) integrated with Dopri8 at rtol = atol = 1e-12; the distance "
        "of each flow at T to the last iterate; slopes of log-log least-squares fits. "
        f"Reproduced when every plain slope is within 1 ± {SLOPE_TOL:g} and every modified "
        f"slope within 2 ± {SLOPE_TOL:g}. E = the conserved quantity above its value at the "
        "centre (ψ² + θ²; w² + a²/2 − σ² ln|a| − 1/2).",
        numbers,
        ok,
        reason,
        figures=figs,
        table=_table(numbers),
    )
