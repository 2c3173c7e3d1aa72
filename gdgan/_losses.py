r"""GAN losses as per-sample terms of each player's loss.

Every loss here is *separable*: with $d_r = D(x)$ on data and $d_f = D(G(z))$ on generated
samples,

$$L_D = \mathbb E\,a_D(d_r) + \mathbb E\,b_D(d_f), \qquad
  L_G = \mathbb E\,a_G(d_r) + \mathbb E\,b_G(d_f),$$

and each player descends its own loss. A zero-sum loss with concave $f$ (Nagarajan & Kolter
2017) has $L_G = V = \mathbb E f(d_r) + \mathbb E f(-d_f)$ and $L_D = -V$.

| name | $a_D$ | $b_D$ | $a_G$ | $b_G$ |
|---|---|---|---|---|
| `gan` | $-\log\sigma(t)$ | $-\log\sigma(-t)$ | $\log\sigma(t)$ | $\log\sigma(-t)$ |
| `wgan` | $-t$ | $t$ | $t$ | $-t$ |
| `nsgan` (Goodfellow 2014) | as `gan` | as `gan` | $0$ | $-\log\sigma(t)$ |
| `lsgan` (Mao 2017, a=0, b=c=1) | $\tfrac12(t-1)^2$ | $\tfrac12 t^2$ | $0$ | $\tfrac12(t-1)^2$ |
| `hinge` (Lim & Ye 2017) | $\max(0, 1-t)$ | $\max(0, 1+t)$ | $0$ | $-t$ |
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import InputError, InputTypeError


def _zero(t):
    return jnp.zeros_like(t)


class Loss(eqx.Module):
    """A separable two-player loss. `f` is set for zero-sum losses (else `None`)."""

    name: str = eqx.field(static=True)
    d_real: Callable = eqx.field(static=True)
    d_fake: Callable = eqx.field(static=True)
    g_real: Callable = eqx.field(static=True)
    g_fake: Callable = eqx.field(static=True)
    f: Callable | None = eqx.field(static=True, default=None)

    @property
    def zero_sum(self) -> bool:
        return self.f is not None


def zero_sum(f: Callable, name: str = "custom") -> Loss:
    """The zero-sum loss of a concave $f$: $L_G = V$, $L_D = -V$."""
    return Loss(
        name,
        d_real=lambda t: -f(t),
        d_fake=lambda t: -f(-t),
        g_real=f,
        g_fake=lambda t: f(-t),
        f=f,
    )


def _log_sigmoid(t):
    return jax.nn.log_sigmoid(t)


def _identity(t):
    return t


LOSSES: dict[str, Loss] = {
    "gan": zero_sum(_log_sigmoid, "gan"),
    "wgan": zero_sum(_identity, "wgan"),
    "nsgan": Loss(
        "nsgan",
        d_real=lambda t: jax.nn.softplus(-t),
        d_fake=jax.nn.softplus,
        g_real=_zero,
        g_fake=lambda t: jax.nn.softplus(-t),
    ),
    "lsgan": Loss(
        "lsgan",
        d_real=lambda t: 0.5 * (t - 1) ** 2,
        d_fake=lambda t: 0.5 * t**2,
        g_real=_zero,
        g_fake=lambda t: 0.5 * (t - 1) ** 2,
    ),
    "hinge": Loss(
        "hinge",
        d_real=lambda t: jax.nn.relu(1 - t),
        d_fake=lambda t: jax.nn.relu(1 + t),
        g_real=_zero,
        g_fake=lambda t: -t,
    ),
}


def resolve_loss(loss) -> Loss:
    """A `Loss` from a name, a `Loss`, or a concave callable `f` (checked on a grid)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise InputError(
                f"loss: expected one of {sorted(LOSSES)} or a concave callable f(t), got {loss!r}"
            )
        return LOSSES[loss]
    if callable(loss):
        ts = jnp.linspace(-4.0, 4.0, 33)
        try:
            second = np.asarray(jax.vmap(jax.grad(jax.grad(lambda t: loss(t))))(ts))
        except Exception as e:  # noqa: BLE001 - report any failure of the user's f
            raise InputTypeError(
                f"loss: the callable f must map a scalar array to a scalar, failed with {e}"
            ) from None
        bad = np.flatnonzero(second > 1e-8)
        if bad.size:
            t = float(ts[bad[0]])
            raise InputError(
                f"loss: the callable f must be concave, but f''({t:g}) = {second[bad[0]]:g} > 0"
            )
        return zero_sum(loss, getattr(loss, "__name__", "custom"))
    raise InputError(
        f"loss: expected one of {sorted(LOSSES)} or a concave callable f(t), got {loss!r}"
    )
