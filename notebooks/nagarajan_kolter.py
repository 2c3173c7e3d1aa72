# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Nagarajan & Kolter (2017): gradient descent GAN optimisation is locally stable
# Theorem 3.1's assumptions, the Lemma's bounds, the WGAN counterexample and the penalty.

# %%
import os

import jax

import gdgan

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("GDGAN_SMOKE", "0") == "1"

# %% [markdown]
# ## The LQ GAN satisfies the assumptions; its spectrum respects the Lemma

# %%
s = gdgan.systems.get("lq", sigma=1.0, loss="gan")
a = gdgan.assumptions(s.game, s.equilibrium)
rep = gdgan.stability(s.field(), s.equilibrium)
print({k: bool(v) for k, v in a.conditions.items()})
print("eigenvalues", rep.eigenvalues, "within bounds:", bool(a.respects_bounds(rep.eigenvalues)))

# %% [markdown]
# ## The WGAN fails f''(0) < 0 and is a centre; the penalty fixes it for every η > 0

# %%
w = gdgan.systems.get("lq", sigma=1.0, loss="wgan")
for eta in (0.0, 0.1, 0.5, 1.0):
    r = gdgan.stability(w.field(gdgan.GradientPenalty(eta)), w.equilibrium)
    print(eta, r.verdict_name, r.eigenvalues)

# %% [markdown]
# ## The stability table (the `nk-stability-table` reproduction)

# %%
from gdgan._reproduce.nk import stability_rows  # noqa: E402

rows = (stability_rows(etas=(0.0, 0.5), losses=("wgan",)) if SMOKE
        else stability_rows(etas=(0.0, 0.1, 0.5, 1.0)))
for r in rows[:8]:
    print(r["system"], r["loss"], r["eta"], r["verdict"], round(r["max_real"], 4))
