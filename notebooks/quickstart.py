# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # gdgan quickstart
# Define a game, read its spectrum, integrate a trajectory and sweep a hyperparameter.
# `SMOKE = True` (or the environment variable `GDGAN_SMOKE=1`) shrinks everything so the
# test suite can run this notebook in seconds.

# %%
import os

import jax
import jax.numpy as jnp

import gdgan

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("GDGAN_SMOKE", "0") == "1"

# %% [markdown]
# ## A game: x ~ N(0, 1), G(z) = a z, D(x) = w x², WGAN loss

# %%
game = gdgan.Game(discriminator=lambda p, x: p["w"] * x**2,
                  generator=lambda p, z: p["a"] * z,
                  data=gdgan.Normal(0.0, 1.0), latent=gdgan.Normal(0.0, 1.0), loss="wgan")
y_star = {"disc": {"w": jnp.array(0.0)}, "gen": {"a": jnp.array(1.0)}}
rep = gdgan.stability(gdgan.vector_field(game), y_star)
print("WGAN:", rep.eigenvalues, rep.verdict_name)
rep = gdgan.stability(gdgan.vector_field(game, gdgan.GradientPenalty(0.25)), y_star)
print("WGAN + penalty:", rep.eigenvalues, rep.verdict_name, "max step", rep.max_stable_step)

# %% [markdown]
# ## A trajectory: the WGAN cycles, the penalised WGAN converges

# %%
y0 = {"disc": {"w": jnp.array(0.0)}, "gen": {"a": jnp.array(1.5)}}
t1 = 20.0 if SMOKE else 200.0
for regs in ([], [gdgan.GradientPenalty(0.5)]):
    res = gdgan.simulate(gdgan.vector_field(game, *regs), y0, t1, y_star=y_star)
    print(regs, res.outcome_name, float(res.distance))

# %% [markdown]
# ## A sweep is a vmap: the spectral abscissa against η

# %%
etas = jnp.linspace(0.0, 2.0, 5 if SMOKE else 201)
abscissa = jax.vmap(lambda e: gdgan.stability(
    gdgan.vector_field(game, gdgan.GradientPenalty(e)), y_star).max_real)(etas)
print(dict(zip(etas.tolist(), abscissa.tolist())))

# %%
import gdgan.plot as gplot  # noqa: E402

fig = gplot.phase_portrait(gdgan.vector_field(game, gdgan.GradientPenalty(0.2)), y_star,
                           trajectories=[res])
