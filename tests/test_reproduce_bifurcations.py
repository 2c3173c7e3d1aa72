"""The `bifurcations` and `cycles` reproductions: tiny configurations end to end, and their
verdicts say "reproduced" on consistent numbers and "not reproduced" on contradicting or
empty ones."""

import copy

import jax.numpy as jnp
import numpy as np
import pytest

import gdgan
from gdgan._continuation import AffineFamily
from gdgan._reproduce import REPRODUCTIONS, reproductions
from gdgan._reproduce import bifurcations as bif
from gdgan._reproduce import cycles as cyc


def test_registered():
    assert {"bifurcations", "cycles"} <= set(reproductions())
    assert REPRODUCTIONS["bifurcations"] is bif.bifurcations
    assert REPRODUCTIONS["cycles"] is cyc.cycles


def test_signed_penalty_family_is_the_penalty():
    """The penalty term is linear in η, so h₀ + η(h₁ − h₀) equals GradientPenalty(η) for
    η ≥ 0 (and extends it to η < 0)."""
    s = gdgan.systems.get("lq", loss="gan")
    fam = AffineFamily(s.field(), s.field(gdgan.GradientPenalty(1.0)))
    y = {"disc": {"w": jnp.asarray(0.3)}, "gen": {"a": jnp.asarray(0.7)}}
    for eta in (0.0, 0.37, 2.5):
        a = fam(eta)(0.0, y, None)
        b = s.field(gdgan.GradientPenalty(eta))(0.0, y, None)
        np.testing.assert_allclose(a["gen"]["a"], b["gen"]["a"], rtol=1e-12)
        np.testing.assert_allclose(a["disc"]["w"], b["disc"]["w"], rtol=1e-12)


# -- bifurcations ---------------------------------------------------------------------------
TINY = dict(families=("lq-gan", "dirac-wgan"), step_systems=("dirac-wgan",), n_points=8)


@pytest.fixture(scope="module")
def bif_numbers():
    numbers, _ = bif.run_bifurcations(TINY)
    return numbers


def test_bifurcations_tiny_reproduces(bif_numbers):
    ok, reason = bif.verdict_bifurcations(bif_numbers)
    assert ok, reason
    rows = {r["system"]: r for r in bif_numbers["eta_rows"]}
    assert abs(rows["lq-gan"]["points"][0]["eta"] + 0.75) < 1e-8
    steps = {(r["method"], r["order"]): r for r in bif_numbers["step_rows"]}
    # Dirac-WGAN at η = 1/4: simultaneous gd is stable up to max_stable_step
    assert (
        abs(
            steps[("gd", "simultaneous")]["first_alpha"]
            - steps[("gd", "simultaneous")]["max_stable_step"]
        )
        < 1e-8
    )


def _broken(numbers, edit):
    n = copy.deepcopy(numbers)
    edit(n)
    return n


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda n: n["eta_rows"][0]["points"][0].update(eta=-0.7), "Hopf at"),
        (lambda n: n["eta_rows"][0]["points"][0].update(kind="fold"), "expected one Hopf"),
        (lambda n: n["eta_rows"][0].update(points=[]), "expected one Hopf"),
        (lambda n: n["eta_rows"][1]["points"][0].update(frequency=2.0), "frequency"),
        (lambda n: n["eta_rows"][0].update(stable_above_only=False), "does not switch"),
        (lambda n: n["step_rows"][0].update(rho_above=0.99), "ρ ="),
        (lambda n: n["step_rows"][0].update(max_stable_step=0.1), "max_stable_step"),
        (lambda n: n["step_rows"][1].pop("first_alpha"), "no stability boundary"),
        (lambda n: n["step_rows"][2].update(stable_at_start=False), "unstable at the smallest"),
        (lambda n: n.update(eta_rows=[]), "no branch"),
        (lambda n: n.update(step_rows=[]), "no branch"),
    ],
)
def test_bifurcations_verdict_fails_on_contradictions(bif_numbers, edit, words):
    ok, reason = bif.verdict_bifurcations(_broken(bif_numbers, edit))
    assert not ok and words in reason


# -- cycles -----------------------------------------------------------------------------------
def test_cycles_tiny_runs_and_the_control_is_a_family():
    """Tiny run: the LQ WGAN control comes out as a neutral family (two multipliers at 1),
    and one Li et al. run is classified by `li_madry.classify`."""
    cfg = dict(n_init=1, transient=20.0, window=40.0, n_save=801, controls=("lq-wgan",))
    numbers, _ = cyc.run_cycles(cfg)
    rows = {r["system"]: r for r in numbers["rows"]}
    assert rows["lq-wgan"]["converged"] and rows["lq-wgan"]["n_at_one"] == 2
    assert not rows["lq-wgan"]["isolated"]
    assert rows["li-madry"]["mode"] in (
        "success",
        "mode_collapse",
        "discriminator_collapse",
        "vanishing_gradient",
        "oscillation",
    )
    ok, reason = cyc.verdict_cycles(numbers)
    assert not ok and "control dirac-gan" in reason  # a control missing is a failure


def _control(label):
    return {
        "system": label,
        "oscillating": True,
        "converged": True,
        "result": "successful",
        "isolated": False,
        "stable": False,
        "n_at_one": 2,
        "moduli": [1.0, 1.0],
        "period": 3.0,
    }


def _li(**kw):
    row = {
        "system": "li-madry",
        "mode": "oscillation",
        "oscillating": True,
        "converged": True,
        "result": "successful",
        "isolated": True,
        "stable": True,
        "n_at_one": 1,
        "moduli": [1.0, 0.3],
        "period": 7.0,
    }
    row.update(kw)
    return row


def good_cycles():
    return {"rows": [_control("lq-wgan"), _control("dirac-gan"), _li(), _li(period=7.5)]}


@pytest.mark.parametrize(
    "rows, words",
    [
        ([], "no runs"),
        ([_control("lq-wgan"), _control("dirac-gan")], "no Li"),
        (
            [_control("lq-wgan"), _control("dirac-gan"), _li(mode="success", oscillating=False)],
            "none of the 1",
        ),
        (
            [
                _control("lq-wgan"),
                _control("dirac-gan"),
                _li(),
                _li(result="max_steps", converged=False),
            ],
            "shooting failed",
        ),
        (
            [dict(_control("lq-wgan"), isolated=True), _control("dirac-gan"), _li()],
            "control lq-wgan",
        ),
        ([_control("lq-wgan"), _li()], "control dirac-gan"),
    ],
)
def test_cycles_verdict_inconclusive(rows, words):
    """The question stays open when a control fails, nothing oscillates or shooting fails."""
    ok, reason = cyc.verdict_cycles(good_cycles())
    assert ok and reason.startswith("answered: yes"), reason
    ok, reason = cyc.verdict_cycles({"rows": rows})
    assert not ok and reason.startswith("inconclusive") and words in reason


@pytest.mark.parametrize(
    "li_rows, answer, words",
    [
        ([_li(), _li(result="no_return", converged=False)], "partly", "1 aperiodic"),
        ([_li(isolated=False, stable=False, n_at_one=2)], "no", "neutral family"),
        ([_li(stable=False)], "no", "isolated unstable"),
        ([_li(), _li(period=3.0)], "yes", "2 isolated attracting"),
    ],
)
def test_cycles_answer_follows_the_multipliers(li_rows, answer, words):
    """The answer is read off the classification, whichever way it goes."""
    ok, reason = cyc.verdict_cycles(
        {"rows": [_control("lq-wgan"), _control("dirac-gan"), *li_rows]}
    )
    assert ok and reason.startswith(f"answered: {answer} ") and words in reason, reason
