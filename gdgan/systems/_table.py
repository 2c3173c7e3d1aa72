"""The stability table: every built-in system with a known equilibrium × loss × η."""

from __future__ import annotations

from .._analysis import assumptions, stability
from .._regularizers import GradientPenalty
from ._registry import get, names, parameters


def stability_rows(etas=(0.0, 0.1, 0.5, 1.0), losses=("gan", "wgan", "nsgan")):
    """Verdict, spectral abscissa, assumptions, Lemma bounds and largest stable step for
    every built-in system with a known equilibrium × loss × η."""
    rows = []
    for name in names():
        sys_losses = losses if "loss" in parameters(name) else (None,)
        for loss in sys_losses:
            s = get(name, **({} if loss is None else {"loss": loss}))
            if s.equilibrium is None:
                continue
            a = assumptions(s.game, s.equilibrium)
            b = {k: float(v) for k, v in a.bounds.items()}
            for eta in etas:
                rep = stability(s.field(*([GradientPenalty(eta)] if eta else [])), s.equilibrium)
                rows.append(
                    {
                        "system": name,
                        "loss": loss or "(fixed)",
                        "eta": eta,
                        "verdict": str(rep.verdict_name),
                        "max_real": float(rep.max_real) + 0.0,
                        "assumptions_hold": bool(a.holds),
                        "failed_conditions": [k for k, v in a.conditions.items() if not bool(v)],
                        "bounds": b,
                        "respects_bounds": bool(a.respects_bounds(rep.eigenvalues))
                        if bool(a.holds)
                        else None,
                        "max_stable_step": float(rep.max_stable_step),
                    }
                )
    return rows
