# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Li, Madry, Peebles & Schmidt (2018): first-order vs optimal discriminator
# The mixture of two Gaussians with an interval discriminator (`gdgan.systems.two_gaussians`).

# %%
import os

import jax

import gdgan

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("GDGAN_SMOKE", "0") == "1"

# %% [markdown]
# Every equilibrium of the first-order dynamics is degenerate: the discriminator block of
# the Jacobian vanishes where the generator matches the data, so the spectrum is on the
# imaginary axis.

# %%
s = gdgan.systems.get("two_gaussians")
rep = gdgan.stability(s.field(), s.equilibrium)
print(rep.verdict_name, rep.eigenvalues)

# %% [markdown]
# ## The flow of first-order dynamics from a separated start

# %%
res = gdgan.simulate(s.field(), s.init, 20.0 if SMOKE else 200.0, throw=False)
print(res.outcome_name, res.y_final)

# %% [markdown]
# The full reproduction (success heatmaps, failure modes, TV curves) is
# `gdgan reproduce li-madry`.
