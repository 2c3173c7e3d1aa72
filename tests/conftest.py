"""Shared fixtures: float64 everywhere, a PRNG key, and catalogues of systems, losses and
regularizers that the oracles are parametrized over."""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402

import gdgan  # noqa: E402

ZERO_SUM_LOSSES = ["gan", "wgan"]
ALL_LOSSES = ["gan", "wgan", "nsgan", "lsgan", "hinge"]


def regularizer_catalogue():
    """One instance of every regularizer (small hyperparameters)."""
    return [
        gdgan.GradientPenalty(0.3),
        gdgan.Consensus(0.2),
        gdgan.R1(0.4),
        gdgan.R2(0.4),
        gdgan.WGANGP(0.5),
        gdgan.TimeScale(2.0),
        gdgan.SGA(0.5),
        gdgan.Unrolled(2, 0.1),
    ]


def small_ring(**kw):
    params = dict(width=6, latent_dim=3, n_samples=16)
    params.update(kw)
    return gdgan.systems.get("ring", **params)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)


def lq_state(w, a):
    return {"disc": {"w": jnp.asarray(w, float)}, "gen": {"a": jnp.asarray(a, float)}}


def pytest_sessionfinish(session, exitstatus):
    """Free the session's compiled programs before the worker is shut down: pytest-xdist's
    transport (execnet) sends SIGINT to a worker still busy 5 s into its shutdown, and
    freeing XLA's executables there (in a garbage-collection callback) can take that long,
    which ended runs with a KeyboardInterrupt warning."""
    import gc

    jax.clear_caches()
    gc.collect()
