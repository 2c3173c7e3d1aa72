# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Bring your own networks
# Any function `D(params, x)` / `G(params, z)` works; equinox modules work as they are
# (pass `discriminator=None` / `generator=None` to call the module itself).

# %%
import os

import equinox as eqx
import jax
import jax.numpy as jnp

import gdgan

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("GDGAN_SMOKE", "0") == "1"

# %%
width = 4 if SMOKE else 32
kd, kg = jax.random.split(jax.random.PRNGKey(0))
disc = eqx.nn.MLP(1, "scalar", width, 2, activation=jnp.tanh, key=kd)
gen = eqx.nn.MLP(1, "scalar", width, 2, activation=jnp.tanh, key=kg)
game = gdgan.Game(discriminator=lambda m, x: m(x[None]),
                  generator=lambda m, z: m(z[None]),
                  data=gdgan.Normal(0.5, 1.0), latent=gdgan.Normal(0.0, 1.0), loss="gan",
                  expectation=gdgan.Quadrature(16))
y = {"disc": disc, "gen": gen}
field = gdgan.vector_field(game, gdgan.GradientPenalty(0.5))
rep = gdgan.stability(field, y)          # at the initialisation (not an equilibrium)
print("n =", rep.jacobian.shape[0], "rightmost:", rep.eigenvalues[:4])

# %% [markdown]
# For networks too large for a dense Jacobian, use the matrix-free rightmost eigenvalues.

# %%
params, static = eqx.partition(y, eqx.is_inexact_array)
res = gdgan.rightmost_eigenvalues(lambda t, p, a: field(t, eqx.combine(p, static), a), params, k=4)
print(res.eigenvalues)
