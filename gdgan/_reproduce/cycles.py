"""`cycles`: are the sustained oscillations of first-order GAN dynamics limit cycles?

Li, Madry, Peebles & Schmidt (ICML 2018) name "oscillation" among the failure modes of
first-order dynamics on their two-Gaussian model. Here the continuous-time first-order flow
(`gdgan.li_madry.first_order_field`) is run from random initialisations; every run that is
still oscillating after a transient is handed to single shooting (`gdgan.periodic_orbit`),
whose Floquet multipliers say whether the oscillation is an isolated, attracting limit cycle
(one multiplier 1, the rest inside the unit circle), a neutral family of orbits (a second
multiplier 1, as around a centre), or not periodic at all (shooting fails). Controls with
a known answer: the unregularised LQ WGAN and Dirac-GAN, centres (neutral families); and
the LQ GAN with the gradient penalty continued to η = −1, past its Hopf point at
η = −3σ²/4 (see `bifurcations`), a candidate for an isolated cycle.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import li_madry, systems
from .._continuation import AffineFamily
from .._periodic import estimate_period, periodic_orbit
from .._regularizers import GradientPenalty
from ._figures import _save
from ._section import Section, register

# -- protocol (fixed before any result was looked at) -------------------------------------------
MU_STAR = (-0.5, 0.5)
SEED = 0  # initial means μ0 ~ U(-1, 1)², discriminators from `li_madry.random_disc`
QUICK = dict(n_init=4, transient=300.0, window=150.0, n_save=3001, controls="all")
FULL = dict(n_init=16, transient=1000.0, window=400.0, n_save=8001, controls="all")
RETURN_TOL = 0.05  # a return: within 5 % of the window's amplitude of the final point
# Li runs: "oscillating" is Li et al.'s failure mode as `gdgan.li_madry.classify` labels the
# window (revised once after the first quick run, where an ad-hoc criterion — the controls'
# below — called irregular, non-returning motion "settled"; the revision can only make the
# claim harder to pass). Controls: oscillating = at least two returns in the window, ...
MIN_RETURNS = 2
MIN_AMPLITUDE = 1e-3  # ... an amplitude of at least 1e-3, ...
MIN_SPEED = 1e-6  # ... and still moving (max|h| at the end)
NEUTRAL_TOL = 1e-4  # multipliers within 1e-4 of 1 count as 1 (`periodic_orbit`'s default)
# controls: (label, system name, params, signed penalty η or None, initial state)
CONTROLS = (
    ("lq-wgan", "lq", {"loss": "wgan"}, None, {"disc": {"w": 0.0}, "gen": {"a": 1.5}}),
    ("dirac-gan", "dirac", {"loss": "gan"}, None, {"disc": {"psi": 0.0}, "gen": {"theta": 1.0}}),
    ("lq-gan-eta-1", "lq", {"loss": "gan"}, -1.0, {"disc": {"w": 0.0}, "gen": {"a": 1.1}}),
)
NEUTRAL_CONTROLS = ("lq-wgan", "dirac-gan")  # must come out as neutral families


def _field(name, params, eta):
    s = systems.get(name, **params)
    if eta is None:
        return s.field()
    return AffineFamily(s.field(), s.field(GradientPenalty(1.0)))(eta)


def _li_mode(g, field):
    """Li et al.'s failure mode of the window (`li_madry.classify`)."""
    ys = g.ys
    mu, l, r = ys["gen"]["mu"], ys["disc"]["l"], ys["disc"]["r"]
    grad = jnp.linalg.norm(jax.vmap(lambda y: field(0.0, y, None)["gen"]["mu"])(ys), axis=-1)
    return str(li_madry.result_name(li_madry.classify(mu, l, r, grad, jnp.asarray(MU_STAR))))


def _row(label, field, y0, cfg):
    """Transient, period guess, then shooting when the run oscillates."""
    g = estimate_period(
        field,
        y0,
        cfg["window"],
        transient=cfg["transient"],
        n_save=cfg["n_save"],
        return_tol=RETURN_TOL,
    )
    row = {
        "system": label,
        "returns": int(g.returns),
        "amplitude": float(g.amplitude),
        "speed": float(g.speed),
        "period_guess": float(g.period),
    }
    if label == "li-madry":
        row["mode"] = _li_mode(g, field)
        row["oscillating"] = row["mode"] == "oscillation"
    else:
        row["oscillating"] = bool(
            g.returns >= MIN_RETURNS and g.amplitude >= MIN_AMPLITUDE and g.speed >= MIN_SPEED
        )
    if not row["oscillating"]:
        return row, None
    if g.returns < 1:
        row.update(result="no_return", converged=False)
        return row, None
    orb = periodic_orbit(field, g.y, g.period, neutral_tol=NEUTRAL_TOL)
    mu = np.asarray(orb.floquet_multipliers)
    row.update(
        result=str(orb.result_name),
        converged=bool(orb.converged),
        period=float(orb.period),
        residual=float(orb.residual),
        multipliers=[[float(m.real), float(m.imag)] for m in mu],
        moduli=[float(abs(m)) for m in mu],
        n_at_one=int(np.sum(np.abs(mu - 1.0) <= NEUTRAL_TOL)),
        isolated=bool(orb.isolated),
        stable=bool(orb.stable),
    )
    return row, orb


def run_cycles(cfg):
    """Rows for the controls and Li et al.'s model. Returns `(numbers, orbits)` with
    `orbits[label] = (orbit, field)` for the figures."""
    rows, orbits = [], {}
    for label, name, params, eta, y0 in CONTROLS:
        if cfg["controls"] != "all" and label not in cfg["controls"]:
            continue
        field = _field(name, params, eta)
        y0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, float), y0)
        row, orb = _row(label, field, y0, cfg)
        rows.append(row)
        if orb is not None and row.get("converged"):
            orbits.setdefault(label, (orb, field))
    mu_star = jnp.asarray(MU_STAR)
    field = li_madry.first_order_field(mu_star)
    keys = jax.random.split(jax.random.PRNGKey(SEED), cfg["n_init"])
    for i, key in enumerate(keys):
        k_mu, k_d = jax.random.split(key)
        mu0 = jax.random.uniform(k_mu, (2,), minval=-1.0, maxval=1.0, dtype=float)
        y0 = li_madry.state(mu0, li_madry.random_disc(k_d))
        row, orb = _row("li-madry", field, y0, cfg)
        row["init"] = i
        row["mu0"] = [float(m) for m in mu0]
        rows.append(row)
        if orb is not None and row.get("converged"):
            orbits.setdefault("li-madry", (orb, field))
    return {"rows": rows, "mu_star": list(MU_STAR), "config": dict(cfg)}, orbits


def verdict_cycles(numbers):
    """The question (issue: are Li et al.'s oscillations limit cycles, and attracting?),
    answered by the protocol above. *Answered* when the method passes its controls (the LQ
    WGAN's and Dirac-GAN's centres come out as neutral families, two multipliers at 1), at
    least one Li run oscillates, and every oscillating Li run is classified conclusively: an
    isolated attracting cycle, an isolated unstable cycle, a neutral family, or aperiodic (no
    return in the window). Shooting that fails on a run that did return leaves the question
    *inconclusive*. Returns `(answered, answer)`; the answer says what was found, whichever
    way it goes."""
    rows = numbers.get("rows", [])
    if not rows:
        return False, "inconclusive: no runs"
    for label in NEUTRAL_CONTROLS:
        ctrl = [r for r in rows if r["system"] == label]
        if not ctrl or not ctrl[0].get("converged") or ctrl[0].get("isolated", True):
            return False, (
                f"inconclusive: control {label}: expected a neutral family of orbits (two "
                f"multipliers at 1), got {_describe(ctrl[0]) if ctrl else 'no run'}"
            )
    li = [r for r in rows if r["system"] == "li-madry"]
    if not li:
        return False, "inconclusive: no Li et al. run"
    osc = [r for r in li if r["oscillating"] and r.get("result") != "equilibrium"]
    if not osc:
        modes = sorted({r.get("mode", "?") for r in li})
        return False, (
            f"inconclusive: none of the {len(li)} continuous-time first-order runs oscillates "
            f"after the transient (modes: {', '.join(modes)}): no cycle to analyse"
        )
    never = [r for r in osc if r.get("result") == "no_return"]
    failed = [r for r in osc if not r.get("converged") and r.get("result") != "no_return"]
    periodic = [r for r in osc if r.get("converged")]
    neutral = [r for r in periodic if not r["isolated"]]
    unstable = [r for r in periodic if r["isolated"] and not r["stable"]]
    cycles = [r for r in periodic if r["isolated"] and r["stable"]]
    if failed:
        return False, (
            f"inconclusive: shooting failed on {len(failed)} of {len(osc)} oscillating runs "
            f"that did return ({', '.join(sorted({r.get('result', '?') for r in failed}))})"
        )
    parts = [f"{len(cycles)} isolated attracting limit cycle(s)"]
    if cycles:
        parts[0] += f" (periods {', '.join(format(r['period'], '.4g') for r in cycles)})"
    if unstable:
        parts.append(f"{len(unstable)} isolated unstable cycle(s) (moduli {_moduli(unstable[0])})")
    if neutral:
        parts.append(
            f"{len(neutral)} periodic orbit(s) in a neutral family (e.g. "
            f"{neutral[0]['n_at_one']} multipliers at 1, moduli {_moduli(neutral[0])})"
        )
    if never:
        parts.append(f"{len(never)} aperiodic (no return within {RETURN_TOL:g} in the window)")
    answer = "yes" if len(cycles) == len(osc) else ("partly" if cycles else "no")
    return True, (f"answered: {answer} — of {len(osc)} sustained oscillations: " + "; ".join(parts))


def _moduli(row):
    return "[" + ", ".join(f"{m:.3g}" for m in row.get("moduli", [])) + "]"


def _describe(row):
    if not row.get("oscillating"):
        return "no sustained oscillation"
    if not row.get("converged"):
        return f"shooting {row.get('result')}"
    return f"{row['n_at_one']} multiplier(s) at 1, moduli {_moduli(row)}"


def _table(rows):
    lines = [
        "| system | init | mode | oscillating | shooting | period | multiplier moduli | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if not r["oscillating"]:
            kind = "no sustained oscillation"
        elif r.get("result") == "no_return":
            kind = "aperiodic (no return)"
        elif not r.get("converged"):
            kind = r.get("result", "")
        elif not r["isolated"]:
            kind = "neutral family"
        else:
            kind = "attracting limit cycle" if r["stable"] else "unstable limit cycle"
        lines.append(
            f"| {r['system']} | {r.get('init', '')} | {r.get('mode', '')} | {r['oscillating']} | "
            f"{r.get('result', '')} | {r.get('period', float('nan')):.5g} | {_moduli(r)} | "
            f"{kind} |"
        )
    return "\n".join(lines)


@register("cycles", weight=2.0)
def cycles(out: Path, quick: bool) -> Section:
    from ..plot import periodic_orbit as plot_orbit

    cfg = QUICK if quick else FULL
    numbers, orbits = run_cycles(cfg)
    ok, reason = verdict_cycles(numbers)
    figures = []
    for label, (orb, field) in orbits.items():
        coords = (4, 5) if label == "li-madry" else (0, 1)  # Li: the generator means μ1, μ2
        fig = plot_orbit(orb, field, coords=coords, title=f"{label}: T = {float(orb.period):.5g}")
        figures.append(_save(fig, out, f"cycles_{label}.png"))
    return Section(
        name="cycles",
        title="Limit cycles of first-order dynamics (Li et al. 2018) and Floquet multipliers",
        claim=(
            "Li et al. report an 'oscillation' failure mode of first-order dynamics on their "
            "two-Gaussian model. Question: are these oscillations isolated, attracting limit "
            "cycles (or neutral families of orbits, or not periodic at all)?"
        ),
        setup=(
            f"continuous-time first-order flow, μ* = {MU_STAR}, {cfg['n_init']} "
            f"initialisations (seed {SEED}: μ0 ~ U(-1, 1)², random intervals); transient "
            f"{cfg['transient']:g}, window {cfg['window']:g}; oscillating = Li et al.'s "
            "failure mode 'oscillation' (gdgan.li_madry.classify on the window); period "
            f"guess from the last return within {RETURN_TOL:g} of the amplitude; "
            "single shooting with Floquet multipliers (|μ - 1| ≤ "
            f"{NEUTRAL_TOL:g} counts as 1); controls: LQ WGAN and Dirac-GAN centres, LQ GAN "
            "with the penalty continued to η = -1"
        ),
        numbers=numbers,
        reproduced=ok,
        reason=reason,
        figures=figures,
        table=_table(numbers["rows"]),
        kind="question",
    )
