# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Beyond the papers: basins, stochastic gradients, real data
# Three questions local stability leaves open, each answered with a measurement:
# how large is the region of attraction, does stability survive minibatch noise, and what
# happens on real images. `SMOKE = True` (or `GDGAN_SMOKE=1`) shrinks everything.

# %%
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdgan

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("GDGAN_SMOKE", "0") == "1"

# %% [markdown]
# ## 1. Regions of attraction
# The LQ WGAN's equilibrium is a centre: nothing converges to it. With the penalty it
# attracts; `basin_radius` bisects the largest converging distance along random
# directions, and a quadratic Lyapunov function certifies a ball inside the basin.

# %%
s = gdgan.systems.get("lq", loss="wgan")
key = jax.random.PRNGKey(0)
for eta in (0.0, 0.5):
    f = s.field(*([gdgan.GradientPenalty(eta)] if eta else []))
    r = gdgan.basin_radius(f, s.equilibrium, directions=4 if SMOKE else 64, r_max=4.0, key=key,
                           tol=0.25 if SMOKE else None)
    print(f"η = {eta}: radius min {r.min:.3g}, median {r.median:.3g} (r_max hit by "
          f"{r.summary()['hit_r_max']:.0%} of directions)")
cert = gdgan.lyapunov_certificate(f, s.equilibrium, n_samples=128 if SMOKE else 1024)
print("certified ball radius:", cert.radius_lower)

# %%
sl = gdgan.basin_slice(f, s.equilibrium, extent=3.0, n=5 if SMOKE else 41)
fig = gdgan.plot.basin_slice(sl, cert, labels=("w", "a"))

# %% [markdown]
# ## 2. Stochastic gradients as an SDE
# Around the LQ GAN's equilibrium, minibatch SGD with step α and batch b fluctuates with a
# stationary covariance C solving J C + C Jᵀ + (α/b) Σ = 0.

# %%
g = gdgan.systems.get("lq", loss="gan")
lr, b = 0.01, 16
Sigma = gdgan.gradient_covariance(g.game, g.equilibrium, n_samples=512 if SMOKE else 8192)
C = gdgan.stationary_covariance(gdgan.jacobian(g.field(), g.equilibrium), lr / b * Sigma)
paths = gdgan.sde(g.game, g.equilibrium, 5.0 if SMOKE else 100.0, lr=lr, batch=b, noise="fixed",
                  key=jax.random.PRNGKey(1), n_paths=8 if SMOKE else 128,
                  n_samples=512 if SMOKE else 8192)
est = gdgan.empirical_covariance(paths.ys, burn_in=0.2)
print("Lyapunov prediction:", np.diag(C), " SDE:", np.diag(est.cov), "±", np.diag(est.stderr))

# %% [markdown]
# The paper's penalty on a minibatch is biased by η tr Σ_D / b: the generator drifts off the
# equilibrium. `GradientPenalty(eta, unbiased=True)` removes the bias.

# %%
steps = 300 if SMOKE else 5000
for unbiased in (False, True):
    out = gdgan.train(g.game, g.equilibrium, optax.sgd(lr), steps, batch=4,
                      key=jax.random.PRNGKey(2),
                      regularizers=[gdgan.GradientPenalty(0.5, unbiased=unbiased)])
    a = np.asarray(out.ys["gen"]["a"])
    print(f"unbiased={unbiased}: mean a over the second half {a[len(a) // 2:].mean():.3f} (a* = 1)")

# %% [markdown]
# ## 3. Real data: scikit-learn's 8×8 digits
# A classifier trained once on the real digits counts how many digit classes a generator
# produces. `gdgan reproduce digits` trains GAN / WGAN with and without the penalty.

# %%
x, y = gdgan.load_digits(labels=True)
clf = gdgan.digit_classifier()
print("real digits:", {k: v for k, v in gdgan.digit_metrics(x[:500], clf).items() if k != "class_histogram"})
print("constant images:", gdgan.digit_metrics(jnp.zeros((100, 64)), clf)["coverage"])
