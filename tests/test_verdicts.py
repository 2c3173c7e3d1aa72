"""Every reproduction's verdict is a claim: each `verdict_*` is tested with numbers that
satisfy the claim (reproduced) and with numbers that contradict it (each must fail) — the
cases found in review (issue 12) plus one more per verdict."""

import copy

import pytest

from gdgan._reproduce import digits, li_madry, nk, ring, roa, stochastic


def _fails(verdict, numbers):
    ok, reason = verdict(numbers)
    assert not ok, reason
    assert reason
    return reason


# -- nk-lq / nk-uniform -------------------------------------------------------------------
def flow():
    return {
        "wgan_outcome": "cycling",
        "wgan_conserved_drift": 1e-9,
        "gan_outcome": "converged",
        "gan_final_distance": 1e-7,
        "penalty_outcomes": {"0.1": "converged", "0.5": "converged"},
        "penalty_final_distances": {"0.1": 1e-8, "0.5": 1e-9},
        "eigenvalue_error_vs_closed_form": 1e-12,
        "all_eta_positive_stable": True,
        "euler_distance_start": 0.5,
        "euler_distance_end": 3.0,
        "euler_growth_predicted": 7.0,
    }


@pytest.mark.parametrize(
    "change",
    [
        # review: 0.5 → 0.5000001 passed "spirals outward" with a ×7 linear prediction
        {"euler_distance_end": 0.5000001},
        # review: converging to another zero of the field (a = −σ) passed
        {"penalty_final_distances": {"0.1": 2.0, "0.5": 1e-9}},
        {"gan_final_distance": 2.0},
        # review: an empty list of penalised outcomes passed
        {"penalty_outcomes": {}, "penalty_final_distances": {}},
        # ours: growth far below the prediction (log-fraction 0.2 < 0.5)
        {"euler_distance_end": 0.5 * 7.0**0.2},
        {"wgan_outcome": "converged"},
        {"euler_distance_end": 0.1},
    ],
)
def test_verdict_flow(change):
    assert nk.verdict_flow(flow())[0], nk.verdict_flow(flow())[1]
    _fails(nk.verdict_flow, {**flow(), **change})


# -- nk-stability-table ---------------------------------------------------------------------
def table_row(**kw):
    row = dict(
        system="lq", loss="gan", eta=0.0, verdict="stable", assumptions_hold=True,
        respects_bounds=True,
    )  # fmt: skip
    return {**row, **kw}


def test_verdict_stability_table():
    rows = [
        table_row(),
        table_row(loss="wgan", verdict="marginal", assumptions_hold=False),
        table_row(loss="wgan", eta=0.5, verdict="stable"),
    ]
    assert nk.verdict_stability_table({"rows": rows})[0]
    _fails(nk.verdict_stability_table, {"rows": []})  # review: empty rows passed
    _fails(nk.verdict_stability_table, {})
    broken = copy.deepcopy(rows)
    broken[0]["respects_bounds"] = False  # ours: outside the Lemma's bounds
    _fails(nk.verdict_stability_table, {"rows": broken})


# -- dirac-stabilizers ------------------------------------------------------------------------
def dirac_rows():
    rows = []
    for label, _, _, expected, converges in nk.dirac_methods():
        exp = dict(zip(("continuous", "simultaneous", "alternating"), expected))
        rows.append(
            {
                "method": label,
                **exp,
                "expected": exp,
                "expected_converges": converges,
                "final_distance": 1e-8 if converges else 1.0,
            }
        )
    return rows


def test_verdict_dirac():
    assert nk.verdict_dirac({"rows": dirac_rows()})[0]
    _fails(nk.verdict_dirac, {"rows": []})  # review: empty rows passed
    rows = dirac_rows()
    wg = next(r for r in rows if r["method"] == "wgan-gp")
    assert wg["expected"]["continuous"] == "undefined"
    # review: WGAN-GP's "marginal" was an artefact of `where` at a kink
    wg["continuous"] = "marginal"
    _fails(nk.verdict_dirac, {"rows": rows})
    # review: a run ending 2 away from the equilibrium was labelled converged
    rows = dirac_rows()
    next(r for r in rows if r["method"] == "r1")["final_distance"] = 2.0
    _fails(nk.verdict_dirac, {"rows": rows})
    # ours: an unregularised GAN that ended at the equilibrium contradicts the claim
    rows = dirac_rows()
    next(r for r in rows if r["method"] == "gan")["final_distance"] = 0.0
    _fails(nk.verdict_dirac, {"rows": rows})


def test_dirac_kink_is_undefined_and_trajectory_label():
    """WGAN-GP's penalty λ(|ψ| − 1)² has a kink at the Dirac equilibrium ψ = 0 (its field
    jumps by 4λ across ψ = 0), so central differences disagree with autodiff there; the
    smooth R1 field passes the same check."""
    import gdgan

    s = gdgan.systems.get("dirac", loss="wgan")
    assert not nk.differentiable_at(s.field(gdgan.WGANGP(1.0)), s.equilibrium)
    g = gdgan.systems.get("dirac", loss="gan")
    assert nk.differentiable_at(g.field(gdgan.R1(1.0)), g.equilibrium)
    assert nk.trajectory_label(1e-9, [0.0, 0.0]).startswith("equilibrium")
    assert nk.trajectory_label(2.0, [0.0, -2.0]) == "elsewhere: (0, -2), d = 2"


# -- nk-ring ------------------------------------------------------------------------------------
def ring_numbers(base, pen, quality=0.8, seeds=5):
    def arm(v, q):
        return {"modes_late_seeds": [v] * seeds, "quality_late_seeds": [q] * seeds}

    return {"methods": {ring.BASE: arm(base, 0.9), ring.PENALISED: arm(pen, quality)}}


def test_verdict_ring():
    assert ring.verdict_ring(ring_numbers(2.0, 8.0))[0]
    _fails(ring.verdict_ring, ring_numbers(7.5, 7.6))  # review: the base did not collapse
    _fails(ring.verdict_ring, ring_numbers(2.0, 6.0))  # review: "all" was ≥ 6 of 8
    _fails(ring.verdict_ring, ring_numbers(2.0, 8.0, quality=0.05))  # review: no quality floor
    _fails(ring.verdict_ring, ring_numbers(2.0, 8.0, seeds=1))  # ours: one seed
    _fails(ring.verdict_ring, {"methods": {}})


# -- digits ---------------------------------------------------------------------------------------
def digits_numbers(**over):
    def arm(loss, eta, cov, conf):
        return {
            "loss": loss,
            "eta": eta,
            "clip": None,
            "coverage_late_mean": cov,
            "confidence_late_mean": conf,
        }

    n = {
        "methods": {
            "g0": arm("gan", 0.0, 9.0, 0.9),
            "g1": arm("gan", 0.5, 9.5, 0.9),
            "w0": arm("wgan", 0.0, 3.0, 0.8),
            "w1": arm("wgan", 0.5, 9.0, 0.85),
        },
        "confidence_uniform_noise": 0.6,
        "confidence_real_held_out": 0.95,
        "coverage_uniform_noise": 0,
        "seeds": 5,
    }
    n.update(over)
    return n


def test_verdict_digits():
    assert digits.verdict_digits(digits_numbers())[0]
    # review: uniform noise already covered 10/10 digits: the metric is invalid
    _fails(digits.verdict_digits, digits_numbers(coverage_uniform_noise=10))
    # review: penalised confidence at noise level (0.61 vs 0.60) passed
    bad = digits_numbers()
    bad["methods"]["w1"]["confidence_late_mean"] = 0.61
    bad["methods"]["w0"]["confidence_late_mean"] = 0.61
    _fails(digits.verdict_digits, bad)
    # ours: the penalty loses sample quality against its own baseline
    bad = digits_numbers()
    bad["methods"]["g1"]["confidence_late_mean"] = 0.8
    _fails(digits.verdict_digits, bad)
    _fails(digits.verdict_digits, digits_numbers(seeds=1))


# -- stochastic -------------------------------------------------------------------------------
def stoch_row(eta, unbiased=False, trace=1.0, se=0.01, offset=0.01, lr=0.01, b=16):
    return {
        "lr": lr,
        "batch": b,
        "eta": eta,
        "unbiased": unbiased,
        "lr_over_b": lr / b,
        "trace_sgd": trace,
        "trace_sgd_se": se,
        "trace_sde": trace,
        "trace_sde_se": se,
        "trace_lyapunov": 1.0,
        "mean_offset": offset,
    }


def stoch(**kw):
    rows = [
        stoch_row(0.0),
        stoch_row(0.5, unbiased=True, trace=kw.get("pen_trace", 1.0), se=kw.get("se", 0.01)),
    ]
    if kw.get("plug", True):
        rows.append(stoch_row(0.5, offset=kw.get("plug_offset", 0.1)))
    return {"covariance": rows, "scaling_exponent": 1.0, "paths": 16}


def test_verdict_stochastic():
    assert stochastic.verdict_stochastic(stoch())[0]
    # review: penalised SGD 18 % off its prediction passed (uncapped 3 SE + 10 %)
    _fails(stochastic.verdict_stochastic, stoch(pen_trace=1.18, se=0.1))
    # review: `plug > fixed` without a margin
    _fails(stochastic.verdict_stochastic, stoch(plug_offset=0.0101))
    # review: no plug-in run, while the text said "the bias shows"
    reason = _fails(stochastic.verdict_stochastic, stoch(plug=False))
    assert "plug-in" in reason
    # ours: too few paths (seeds)
    _fails(stochastic.verdict_stochastic, {**stoch(), "paths": 2})
    _fails(stochastic.verdict_stochastic, {"covariance": []})


# -- roa --------------------------------------------------------------------------------------------
def roa_numbers():
    row0 = {"eta": 0.0, "verdict": "marginal", "min": 0.0, "median": 0.0, "max": 0.1}
    row1 = {
        "eta": 0.5,
        "verdict": "stable",
        "min": 1.0,
        "median": 2.0,
        "max": 4.0,
        "certificate_points_checked": 12,
        "certificate_inside_sampled_basin": True,
    }
    return {"systems": {"x": {"tol": 0.1, "marginal_at_0": True, "rows": [row0, row1]}}}


def test_verdict_roa():
    assert roa.verdict_roa(roa_numbers())[0]
    # review: zero certificate points checked passed
    bad = roa_numbers()
    bad["systems"]["x"]["rows"][1]["certificate_points_checked"] = 0
    _fails(roa.verdict_roa, bad)
    # review: ring rows were ignored
    bad = roa_numbers()
    bad["ring"] = {"rows": [{"eta": 0.0, "status": "no stable equilibrium found"}]}
    _fails(roa.verdict_roa, bad)
    bad = roa_numbers()
    bad["ring"] = {
        "rows": [
            {"eta": 0.0, "min": 0.5, "median": 0.8, "max": 1.0},
            {"eta": 0.5, "min": 0.1, "median": 0.2, "max": 1.0},
        ]
    }
    _fails(roa.verdict_roa, bad)
    # ours: the penalty shrinks the median radius of a stable equilibrium
    bad = roa_numbers()
    bad["systems"]["x"]["marginal_at_0"] = False
    bad["systems"]["x"]["rows"][0].update(min=1.0, median=3.0)
    _fails(roa.verdict_roa, bad)
    _fails(roa.verdict_roa, {"systems": {}})


# -- li-madry ---------------------------------------------------------------------------------------
def lm_numbers(opt=1.0, fo=0.1, counts=None):
    counts = counts or {
        "success": 10,
        "mode_collapse": 40,
        "discriminator_collapse": 20,
        "vanishing_gradient": 10,
        "oscillation": 20,
    }
    return {
        "optimal_success": opt,
        "first_order_success": fo,
        "failure_modes": {"counts": counts},
    }


def test_verdict_li_madry():
    assert li_madry.verdict_li_madry(lm_numbers())[0]
    _fails(li_madry.verdict_li_madry, lm_numbers(0.9, 0.5))  # review: 0.5 is not "most fail"
    _fails(li_madry.verdict_li_madry, lm_numbers(0.9, 0.45))  # review: GAP_MIN never bound
    # review: failure modes were not judged — every failure unclassified "oscillation"
    only_osc = {"success": 10, "oscillation": 90}
    _fails(li_madry.verdict_li_madry, lm_numbers(counts=only_osc))
    _fails(li_madry.verdict_li_madry, lm_numbers(0.85, 0.1))  # ours: optimal not "almost all"
    _fails(li_madry.verdict_li_madry, lm_numbers(float("nan"), 0.1))
