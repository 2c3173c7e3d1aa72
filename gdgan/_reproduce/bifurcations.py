r"""`bifurcations`: where do the LQ and Dirac GANs change stability as the gradient penalty η
and the step size α move? Continuation (`gdgan.continuation`) of the equilibrium in η, with
its Hopf points against closed forms, and of the update maps of simultaneous, alternating,
optimistic and extragradient steps in α (`gdgan.continuation_discrete`), with the flip and
Neimark–Sacker points checked against the update's spectral radius.

**Closed forms (continuous time).** At a realisable equilibrium the penalised Jacobian is
$J_η = [[I, 0], [-2ηK_{DG}^T, I]]\,J_0$ (Nagarajan & Kolter 2017, §4), and the penalty is
linear in η, so the family $h_0 + η(h_1 - h_0)$ extends it exactly to η < 0 (the generator
*ascending* the discriminator's gradient norm). In two dimensions, with
$J_0 = [[k, -c], [c, 0]]$ ($k = K_{DD}$, $c = -K_{DG}$):

- $J_η = [[k, -c], [c + 2ηck, -2ηc^2]]$, trace $k - 2ηc^2$, determinant $c^2$, so a Hopf
  point at $η_H = k/(2c^2)$ with frequency $ω_H = |c|$; stable for η > η_H.
- LQ (D = wx², G = az, x ~ N(0, σ²)): $k = 2f''(0)\,E[x^4] = 6f''(0)σ^4$, $c = 2f'(0)σ$.
  WGAN ($f' = 1, f'' = 0$): $η_H = 0$, $ω_H = 2σ$. GAN ($f' = ½, f'' = -¼$): $k = -3σ^4/2$,
  $c = σ$, $η_H = -3σ^2/4$, $ω_H = σ$.
- Dirac-GAN: $k = 0$ (the data are a point at 0), $c = f'(0)$: $η_H = 0$ with
  $ω_H = 1$ (WGAN) and $½$ (GAN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import systems
from .._analysis import stability
from .._continuation import AffineFamily, continuation, continuation_discrete
from .._regularizers import GradientPenalty
from .._train import discrete_stability
from ._figures import _plt, _save
from ._section import Section, register

# -- protocol (fixed before any result was looked at) -------------------------------------------
SIGMA = 1.0
# label -> (system, params, expected Hopf η_H, expected frequency ω_H)
FAMILIES = {
    "lq-wgan": ("lq", {"sigma": SIGMA, "loss": "wgan"}, 0.0, 2 * SIGMA),
    "lq-gan": ("lq", {"sigma": SIGMA, "loss": "gan"}, -0.75 * SIGMA**2, SIGMA),
    "dirac-wgan": ("dirac", {"loss": "wgan"}, 0.0, 1.0),
    "dirac-gan": ("dirac", {"loss": "gan"}, 0.0, 0.5),
}
ETA_RANGE = (-1.0, 1.0)
ETA_STEP = 0.25  # the penalty at which the step size is continued
ALPHA_RANGE = (0.005, 4.0)
RULES = (
    ("gd", "simultaneous"),
    ("gd", "alternating"),
    ("optimistic", "simultaneous"),
    ("extragradient", "simultaneous"),
)
QUICK = dict(families=tuple(FAMILIES), step_systems=("lq-wgan", "dirac-gan"), n_points=32)
FULL = dict(families=tuple(FAMILIES), step_systems=tuple(FAMILIES), n_points=96)
DS_MAX = 0.05  # the η-branches' largest step (smooth figures; the state does not move)
LOCATE_TOL = 1e-6  # |η found − η_H|, |ω found − ω_H|, |α* − max_stable_step| (loose vs 1e-10)
BRACKET = 1e-6  # ρ(α*(1 − BRACKET)) < 1 < ρ(α*(1 + BRACKET))

OPTIMIZERS = {
    "gd": "sgd",
    "optimistic": "optimistic_gradient_descent",
    "extragradient": "extragradient",
}


def _family(name, params):
    s = systems.get(name, **params)
    return s, AffineFamily(s.field(), s.field(GradientPenalty(1.0)))


def _optimizer(method, lr):
    import optax

    from .._train import extragradient

    return (
        extragradient(lr) if method == "extragradient" else getattr(optax, OPTIMIZERS[method])(lr)
    )


def run_bifurcations(cfg):
    """Branches in η for every family and in α for `cfg["step_systems"]`. Returns
    `(numbers, branches)`; `branches[(label, "eta")]` and `branches[(label, method, order)]`
    are `gdgan.Branch`es."""
    eta_rows, step_rows, branches = [], [], {}
    for label in cfg["families"]:
        name, params, eta_h, omega_h = FAMILIES[label]
        s, fam = _family(name, params)
        br = continuation(fam, s.equilibrium, *ETA_RANGE, ds_max=DS_MAX)
        branches[(label, "eta")] = br
        p = br.p
        away = np.abs(p - eta_h) > 1e-9
        eta_rows.append(
            {
                "system": label,
                "status": br.status,
                "points": [
                    {"kind": b.kind, "eta": b.p, "frequency": b.frequency} for b in br.points
                ],
                "expected_eta": eta_h,
                "expected_frequency": omega_h,
                "stable_above_only": bool(np.all(br.stable[away] == (p[away] > eta_h))),
                "n_points": int(len(p)),
            }
        )
        if label not in cfg["step_systems"]:
            continue
        f = fam(ETA_STEP)
        mss = float(stability(f, s.equilibrium).max_stable_step)
        for method, order in RULES:
            bd = continuation_discrete(
                f, s.equilibrium, *ALPHA_RANGE, method=method, order=order, n_points=cfg["n_points"]
            )
            branches[(label, method, order)] = bd
            row = {
                "system": label,
                "method": method,
                "order": order,
                "eta": ETA_STEP,
                "stable_at_start": bool(bd.stable[0]),
                "points": [
                    {"kind": b.kind, "alpha": b.p, "frequency": b.frequency} for b in bd.points
                ],
            }
            if bd.points:
                a = bd.points[0].p

                def rho(x, method=method, order=order):
                    return float(
                        discrete_stability(
                            f, s.equilibrium, _optimizer(method, x), order=order
                        ).spectral_radius
                    )

                row.update(
                    first_alpha=a,
                    first_kind=bd.points[0].kind,
                    rho_below=rho(a * (1 - BRACKET)),
                    rho_above=rho(a * (1 + BRACKET)),
                )
            if (method, order) == ("gd", "simultaneous"):
                row["max_stable_step"] = mss
            step_rows.append(row)
    numbers = {
        "eta_rows": eta_rows,
        "step_rows": step_rows,
        "sigma": SIGMA,
        "eta_range": list(ETA_RANGE),
        "alpha_range": list(ALPHA_RANGE),
        "eta_step": ETA_STEP,
        "n_points": cfg["n_points"],
    }
    return numbers, branches


def verdict_bifurcations(numbers):
    """Reproduced when (continuous) every family's only bifurcation in η is a Hopf point at
    the closed-form $η_H$ with frequency $ω_H$ (to `LOCATE_TOL`) and the equilibrium is
    stable exactly for η > η_H; and (discrete) every rule starts stable, loses stability at
    a located step α* where the spectral radius of `discrete_stability` crosses 1
    (ρ < 1 just below, > 1 just above), and simultaneous gd's α* is `max_stable_step`.
    Empty rows fail. Returns `(ok, reason)`."""
    eta_rows, step_rows = numbers.get("eta_rows", []), numbers.get("step_rows", [])
    if not eta_rows or not step_rows:
        return False, "no branch was computed"
    bad = []
    for r in eta_rows:
        pts = r["points"]
        if len(pts) != 1 or pts[0]["kind"] != "hopf":
            bad.append(
                f"{r['system']}: expected one Hopf point, got {[p['kind'] for p in pts] or 'none'}"
            )
            continue
        if abs(pts[0]["eta"] - r["expected_eta"]) > LOCATE_TOL:
            bad.append(
                f"{r['system']}: Hopf at η = {pts[0]['eta']:.8g}, expected {r['expected_eta']:g}"
            )
        if abs(pts[0]["frequency"] - r["expected_frequency"]) > LOCATE_TOL:
            bad.append(
                f"{r['system']}: frequency {pts[0]['frequency']:.8g}, expected "
                f"{r['expected_frequency']:g}"
            )
        if not r["stable_above_only"]:
            bad.append(f"{r['system']}: stability does not switch at the Hopf point")
    for r in step_rows:
        tag = f"{r['system']} {r['method']}/{r['order']}"
        if not r["stable_at_start"]:
            bad.append(f"{tag}: unstable at the smallest step")
        if "first_alpha" not in r:
            bad.append(f"{tag}: no stability boundary in α ∈ {numbers.get('alpha_range')}")
            continue
        if not r["rho_below"] < 1 < r["rho_above"]:
            bad.append(
                f"{tag}: ρ = {r['rho_below']:.9g}, {r['rho_above']:.9g} around "
                f"α* = {r['first_alpha']:.6g}, expected < 1 < "
            )
        if "max_stable_step" in r and abs(r["first_alpha"] - r["max_stable_step"]) > LOCATE_TOL:
            bad.append(
                f"{tag}: α* = {r['first_alpha']:.9g} but max_stable_step = "
                f"{r['max_stable_step']:.9g}"
            )
    if bad:
        return False, "; ".join(bad[:3])
    hopf = ", ".join(f"{r['system']} η_H = {r['points'][0]['eta']:.3g}" for r in eta_rows)
    steps = ", ".join(
        f"{r['system']} {r['method']}/{r['order'][:3]} {r['first_kind']} at "
        f"α = {r['first_alpha']:.4g}"
        for r in step_rows
    )
    return True, f"Hopf points at the closed forms ({hopf}); step-size boundaries: {steps}"


def _table(numbers):
    lines = [
        "| system | parameter | rule | bifurcation | at | frequency | expected |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in numbers["eta_rows"]:
        for p in r["points"] or [{"kind": "none", "eta": float("nan"), "frequency": 0.0}]:
            lines.append(
                f"| {r['system']} | η | flow | {p['kind']} | {p['eta']:.8g} | "
                f"{p['frequency']:.6g} | η_H = {r['expected_eta']:g}, ω_H = "
                f"{r['expected_frequency']:g} |"
            )
    for r in numbers["step_rows"]:
        exp = (
            f"max_stable_step = {r['max_stable_step']:.8g}"
            if "max_stable_step" in r
            else f"ρ: {r.get('rho_below', float('nan')):.9f} → {r.get('rho_above', float('nan')):.9f}"
        )
        for p in r["points"][:2] or [{"kind": "none", "alpha": float("nan"), "frequency": 0.0}]:
            lines.append(
                f"| {r['system']} (η = {r['eta']:g}) | α | {r['method']}/{r['order']} | "
                f"{p['kind']} | {p['alpha']:.8g} | {p['frequency']:.4g} | {exp} |"
            )
    return "\n".join(lines)


def _figures(branches, numbers, out):
    from ..plot import bifurcation_diagram

    figs = []
    labels = [label for label in FAMILIES if (label, "eta") in branches]
    main = "lq-gan" if "lq-gan" in labels else labels[0]
    fig = bifurcation_diagram(
        branches[(main, "eta")],
        parameter="η (gradient penalty)",
        title=f"{main}, σ = 1: the equilibrium in η",
    )
    figs.append(_save(fig, out, f"bifurcations_{main.replace('-', '_')}.png"))
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for label in labels:
        br = branches[(label, "eta")]
        axes[0].plot(br.p, br.max_real, label=label)
        for b in br.points:
            axes[0].plot([b.p], [0.0], "o", color="tab:purple", ms=7)
    axes[0].axhline(0, color="k", lw=0.8, ls=":")
    axes[0].set(
        xlabel="η (gradient penalty, η < 0: continued linearly)",
        ylabel="max Re λ",
        title="continuous time: Hopf points (●)",
    )
    axes[0].legend(fontsize="small")
    system = next(s for s in FAMILIES if any(k[0] == s and len(k) == 3 for k in branches))
    for (label, *rule), br in branches.items():
        if label != system or len(rule) != 2:
            continue
        (line,) = axes[1].plot(br.p, br.max_real, label="/".join(rule))
        for b in br.points[:1]:
            axes[1].plot(
                [b.p],
                [1.0],
                "D" if b.kind == "neimark_sacker" else "v",
                color=line.get_color(),
                ms=8,
            )
    axes[1].axhline(1, color="k", lw=0.8, ls=":")
    axes[1].set(
        xlabel="step size α",
        ylabel="spectral radius ρ",
        yscale="log",
        title=f"{system}, η = {ETA_STEP:g}: first loss of stability (◆ NS, ▼ flip)",
    )
    axes[1].legend(fontsize="small")
    fig.tight_layout()
    figs.append(_save(fig, out, "bifurcations.png"))
    return figs


@register("bifurcations", weight=1.5)
def bifurcations(out: Path, quick: bool) -> Section:
    cfg = QUICK if quick else FULL
    numbers, branches = run_bifurcations(cfg)
    ok, reason = verdict_bifurcations(numbers)
    return Section(
        name="bifurcations",
        title="Bifurcations in the gradient penalty and in the step size",
        claim=(
            "The penalised LQ and Dirac GANs lose stability through a Hopf point at "
            "η_H = k/(2c²) with frequency |c| (η_H = 0 for the WGANs and the Dirac-GAN, "
            "-3σ²/4 for the LQ GAN); every discrete rule has a largest stable step, where a "
            "multiplier leaves the unit circle (simultaneous gd: at max_stable_step)."
        ),
        setup=(
            f"pseudo-arclength continuation of the equilibrium in η ∈ {ETA_RANGE} (the "
            "penalty continued linearly to η < 0), σ = 1; the update maps at η = "
            f"{ETA_STEP:g} in α ∈ {ALPHA_RANGE} ({cfg['n_points']} steps, crossings bisected "
            f"to 1e-10) for {', '.join('/'.join(r) for r in RULES)} on "
            f"{', '.join(cfg['step_systems'])}"
        ),
        numbers=numbers,
        reproduced=ok,
        reason=reason,
        figures=_figures(branches, numbers, out),
        table=_table(numbers),
    )
