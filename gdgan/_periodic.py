r"""Periodic orbits of the flow by single shooting, and their Floquet multipliers.

A periodic orbit of $\dot v = h(v)$ through $v_0$ with period $T$ solves
$φ_T(v_0) = v_0$, with $φ_T$ the flow. Rescaling time, $u(s) = v(sT)$ solves
$u' = T\,h(u)$ on $s \in [0, 1]$, so $T$ enters as a parameter of one `diffrax.diffeqsolve`
and

$$R(v_0, T) = \begin{pmatrix} φ_T(v_0) - v_0 \\ \langle h(\bar v), v_0 - \bar v\rangle
\end{pmatrix} = 0$$

is $n + 1$ equations in $n + 1$ unknowns: the second, a *phase condition*, pins the point
on the orbit to the hyperplane through the initial guess $\bar v$ orthogonal to the flow
there (without it any point of the orbit would do). A damped Newton iteration
(Levenberg–Marquardt, `optimistix.LevenbergMarquardt` on $\|R\|^2$) solves it,
differentiating through the ODE solver in forward mode (`diffrax.ForwardMode`). Near a
regular solution it is Newton's method; the damping keeps the steps short along nearly
singular directions, so that a *family* of orbits (where the Jacobian of $R$ is singular,
see below) still yields the member nearest the guess instead of a jump to the equilibrium
inside it (plain Newton did that on the LQ WGAN). The ODE step is capped at 1/32 of the
period so that the forward-mode tangents are resolved even where the orbit is slow.

The **monodromy matrix** $M = \partial φ_T / \partial v_0$ (`jax.jacfwd` through the solve)
has the Floquet multipliers as eigenvalues. For an autonomous flow one of them is 1 (the
direction $h(v_0)$ along the orbit: $M h(v_0) = h(v_0)$). The orbit is an **isolated**
limit cycle when that is the only multiplier at 1, and orbitally asymptotically stable when
all the others lie inside the unit circle (Kuznetsov 2004, §1.5; Seydel, "Practical
Bifurcation and Stability Analysis", ch. 7). A **centre** — a family of neutral orbits
around an equilibrium, as in a conservative system with a first integral $H$ (the
unregularised WGAN's; docs, Theory §7) — has a second multiplier at 1 (the direction across
the family; $∇H^T M = ∇H^T$), and is reported with `isolated=False`.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._analysis import enum_name, flatten
from ._checks import InputError, InputTypeError, check_finite_tree, check_positive, float_array
from ._game import check_state
from ._tree import as_arrays, ravel_arrays, split_ravel


class OrbitResult(eqx.Enumeration):
    """How the shooting Newton iteration of `gdgan.periodic_orbit` ended (jittable; compare
    with `==`)."""

    successful = "Newton converged to a periodic orbit"
    newton_failed = (
        "the shooting Newton iteration did not converge (max_steps reached, divergence, a "
        "failed ODE solve or a singular system): start closer to the orbit (y0 on it, period "
        "near its period), raise max_steps, or loosen rtol/atol"
    )
    equilibrium = (
        "Newton converged to an equilibrium (h(y0) ~ 0), where every period fits: start "
        "further from the equilibrium"
    )
    nonpositive_period = "Newton converged to a period T <= 0: give a better period guess"


class PeriodicOrbit(eqx.Module):
    """Result of `gdgan.periodic_orbit`.

    - `y0`: a point of the orbit (the structure of the initial state); `period`: $T$;
    - `floquet_multipliers`: `(n,)` complex eigenvalues of the monodromy matrix, sorted by
      modulus, largest first; `monodromy`: `(n, n)` $\\partial φ_T/\\partial v_0$;
    - `trivial`: the multiplier nearest 1 (the flow direction's);
    - `isolated`: exactly one multiplier within `neutral_tol` of 1 (a limit cycle; `False`
      for a family of orbits such as a centre);
    - `stable`: isolated and every non-trivial multiplier has $|μ| < 1 -$ `neutral_tol`
      (orbitally asymptotically stable);
    - `residual`: $\\max|φ_T(v_0) - v_0|$; `result`: an `OrbitResult`; `num_steps`: Newton
      iterations; `converged` (property): `result == OrbitResult.successful`.
    """

    y0: object
    period: jax.Array
    floquet_multipliers: jax.Array
    monodromy: jax.Array
    trivial: jax.Array
    isolated: jax.Array
    stable: jax.Array
    residual: jax.Array
    result: OrbitResult
    num_steps: jax.Array

    @property
    def converged(self):
        return self.result == OrbitResult.successful

    @property
    def result_name(self):
        return enum_name(OrbitResult, self.result)

    @property
    def message(self) -> str:
        """What `result` means (vectorised: an array of messages for a batch)."""
        return OrbitResult[self.result]

    @property
    def nontrivial_multipliers(self):
        """The multipliers without the trivial one (the one nearest 1)."""
        mu = self.floquet_multipliers
        i = jnp.argmin(jnp.abs(mu - 1.0))
        return jnp.delete(mu, i, assume_unique_indices=True)


def periodic_orbit(
    field,
    y0,
    period,
    *,
    rtol=1e-9,
    atol=1e-9,
    max_steps=40,
    ode_rtol=1e-12,
    ode_atol=1e-12,
    solver=None,
    max_ode_steps=100_000,
    neutral_tol=1e-4,
    equilibrium_tol=1e-8,
    t=0.0,
    args=None,
) -> PeriodicOrbit:
    r"""A periodic orbit of the autonomous flow $\dot θ = h(θ)$ near `y0` with period near
    `period`, found by single shooting, with its Floquet multipliers (see the module
    docstring for the method).

    **Arguments:**

    - `field(t, y, args)`: an autonomous field (`t` is held at `t`); `y0`: a state near the
      orbit; `period`: a positive guess of its period;
    - `rtol`, `atol`, `max_steps`: Newton's tolerances (on $(v_0, T)$ and the residual) and
      iterations;
    - `ode_rtol`, `ode_atol`, `solver` (default `diffrax.Tsit5()`), `max_ode_steps`: the
      flow's accuracy; the multipliers are as accurate as the solve;
    - `neutral_tol`: multipliers within it of 1 count as 1 (a Jordan block at 1, as in a
      centre with an amplitude-dependent period, splits by about $\sqrt{\text{ode\_rtol}}$);
    - `equilibrium_tol`: a result with $\max|h| \le$ it is an equilibrium, not an orbit;
    - `args`: passed to the field.

    **Returns:** a `PeriodicOrbit`. A failed iteration is a `result`, never an exception, so
    the function works under `jax.jit` / `jax.vmap` (over `y0` and `period`).

    ```python
    def vdp(t, y, args):   # van der Pol, mu = 1
        x, v = y["disc"], y["gen"]
        return {"disc": v, "gen": (1 - x**2) * v - x}
    orb = gdgan.periodic_orbit(vdp, {"disc": 2.0, "gen": 0.0}, 6.6)
    orb.period, orb.floquet_multipliers, orb.stable   # 6.6632868593..., [1, 8.6e-4], True
    ```
    """
    if not callable(field):
        raise InputTypeError(f"field: expected a field(t, y, args), got {field!r}")
    y0 = as_arrays(check_state(y0, "y0"))
    y0 = jax.tree_util.tree_map(
        lambda a: (
            jnp.asarray(a, float) if isinstance(a, (float, int)) and not isinstance(a, bool) else a
        ),
        y0,
    )
    check_finite_tree(y0, "periodic_orbit", "y0")
    period = check_positive(
        float_array(period, "periodic_orbit", "period"), "periodic_orbit", "period"
    )
    if jnp.ndim(period) != 0:
        raise InputError(f"period: expected a scalar, got shape {jnp.shape(period)}")
    if (
        isinstance(max_steps, bool)
        or not isinstance(max_steps, (int, np.integer))
        or (max_steps < 1)
    ):
        raise InputError(f"max_steps: expected a positive integer, got {max_steps!r}")
    for name, value in (
        ("rtol", rtol),
        ("atol", atol),
        ("ode_rtol", ode_rtol),
        ("ode_atol", ode_atol),
        ("neutral_tol", neutral_tol),
        ("equilibrium_tol", equilibrium_tol),
    ):
        if not (isinstance(value, (int, float)) and value > 0):
            raise InputError(f"{name}: expected a positive number, got {value!r}")
    if solver is None:
        solver = diffrax.Tsit5()
    if not isinstance(solver, diffrax.AbstractSolver):
        raise InputTypeError(f"solver: expected a diffrax solver, got {solver!r}")
    flatten(field, y0, t, args)  # structure check, one-line error
    return _periodic(
        field,
        y0,
        period,
        float(rtol),
        float(atol),
        int(max_steps),
        float(ode_rtol),
        float(ode_atol),
        solver,
        int(max_ode_steps),
        float(neutral_tol),
        float(equilibrium_tol),
        t,
        args,
    )


@eqx.filter_jit
def _periodic(
    field,
    y0,
    period,
    rtol,
    atol,
    max_steps,
    ode_rtol,
    ode_atol,
    solver,
    max_ode_steps,
    neutral_tol,
    equilibrium_tol,
    t,
    args,
):
    v_ref, unravel, static = split_ravel(y0)
    n = v_ref.size

    def h(v):
        out = field(t, eqx.combine(unravel(v), static), args)
        return ravel_arrays(out)

    def flow(v, T):
        term = diffrax.ODETerm(lambda s, u, T_: T_ * h(u))
        sol = diffrax.diffeqsolve(
            term,
            solver,
            0.0,
            1.0,
            None,
            v,
            args=T,
            stepsize_controller=diffrax.PIDController(rtol=ode_rtol, atol=ode_atol, dtmax=1 / 32),
            saveat=diffrax.SaveAt(t1=True),
            adjoint=diffrax.ForwardMode(),
            max_steps=max_ode_steps,
            throw=False,
        )
        ok = sol.result == diffrax.RESULTS.successful
        return jnp.where(ok, sol.ys[-1], jnp.nan)

    h_ref = h(v_ref)

    def R(z, _):
        v, T = z[:n], z[n]
        return jnp.concatenate([flow(v, T) - v, jnp.atleast_1d(jnp.dot(h_ref, v - v_ref))])

    z0 = jnp.concatenate([v_ref, jnp.atleast_1d(period).astype(v_ref.dtype)])
    # LM stops when its steps (and the change of ½‖R‖²) are small, not on ‖R‖ itself: run it
    # 100× tighter than asked and accept the result on the residual (below)
    lm = optx.LevenbergMarquardt(rtol=rtol * 1e-2, atol=atol * 1e-2)
    sol = optx.least_squares(R, lm, z0, max_steps=max_steps, throw=False)
    v, T = sol.value[:n], sol.value[n]
    M = jax.jacfwd(lambda u: flow(u, T))(v)
    finite = jnp.all(jnp.isfinite(M)) & jnp.all(jnp.isfinite(sol.value))
    M = jnp.where(finite, M, jnp.nan)
    mu = jnp.linalg.eigvals(jnp.where(finite, M, 0.0))
    mu = mu[jnp.lexsort((-mu.imag, -jnp.abs(mu)))]
    mu = jnp.where(finite, mu, jnp.nan)
    near_one = jnp.abs(mu - 1.0) <= neutral_tol
    i_triv = jnp.argmin(jnp.abs(mu - 1.0))
    others = jnp.where(jnp.arange(n) == i_triv, 0.0, jnp.abs(mu))
    isolated = jnp.sum(near_one) == 1
    stable = isolated & (jnp.max(others) < 1.0 - neutral_tol) if n > 1 else isolated
    residual = jnp.max(jnp.abs(flow(v, T) - v))
    speed = jnp.max(jnp.abs(h(v))) if n else jnp.zeros((), v.dtype)
    ok = (sol.result == optx.RESULTS.successful) & finite & (residual <= 10 * atol)
    result = OrbitResult.where(
        ~ok,
        OrbitResult.newton_failed,
        OrbitResult.where(
            speed <= equilibrium_tol,
            OrbitResult.equilibrium,
            OrbitResult.where(T <= 0, OrbitResult.nonpositive_period, OrbitResult.successful),
        ),
    )
    return PeriodicOrbit(
        y0=eqx.combine(unravel(v), static),
        period=T,
        floquet_multipliers=mu,
        monodromy=M,
        trivial=mu[i_triv],
        isolated=isolated,
        stable=stable,
        residual=residual,
        result=result,
        num_steps=sol.stats["num_steps"],
    )


class PeriodGuess(eqx.Module):
    """Result of `gdgan.estimate_period` (host values).

    - `y`: the state at the end of the window (a point to shoot from); `period`: the time
      since the trajectory last came back within `return_tol` of `y` through the section
      through `y` orthogonal to the flow (NaN when it did not);
    - `returns`: how many such returns the window holds; `amplitude`: the largest distance
      from `y` over the window; `speed`: $\\max|h(y)|$ at the end;
    - `ts`, `ys`: the window's samples (`ys` with the state's structure and a leading axis).
    """

    y: object
    period: float
    returns: int
    amplitude: float
    speed: float
    ts: object = None
    ys: object = None


def estimate_period(
    field,
    y0,
    window,
    *,
    transient=0.0,
    n_save=4001,
    return_tol=0.05,
    rtol=1e-10,
    atol=1e-10,
    max_steps=1_000_000,
    args=None,
) -> PeriodGuess:
    r"""A period guess for `periodic_orbit`: simulate `transient`, then `window` more
    (`gdgan.simulate`, `n_save` points), and find when the trajectory last crossed the
    hyperplane through the final point $\bar v$ orthogonal to $h(\bar v)$, in the flow's
    direction, within `return_tol` $\times$ (the window's largest distance from $\bar v$) of
    $\bar v$ (crossing times linearly interpolated).

    **Arguments:** `field`, `y0`; `window`, `transient`: times; `n_save`: samples in the
    window (several per period); `return_tol`; `rtol`, `atol`, `max_steps`: the solves;
    `args`.

    **Returns:** a `PeriodGuess` (`.y`, `.period` — NaN without a return — `.returns`,
    `.amplitude`, `.speed`).

    ```python
    g = gdgan.estimate_period(field, y0, 50.0, transient=200.0)
    orb = gdgan.periodic_orbit(field, g.y, g.period)
    ```
    """
    from ._simulate import simulate

    for name, value in (("window", window), ("transient", transient)):
        if not (
            isinstance(value, (int, float, np.floating, np.integer))
            and value >= 0
            and np.isfinite(value)
        ):
            raise InputError(f"{name}: expected a non-negative finite number, got {value!r}")
    if not window > 0:
        raise InputError(f"window: expected a positive number, got {window!r}")
    if not (isinstance(return_tol, (int, float)) and 0 < return_tol < 1):
        raise InputError(f"return_tol: expected a number in (0, 1), got {return_tol!r}")
    common = dict(rtol=rtol, atol=atol, max_steps=max_steps, throw=False, args=args)
    y = y0
    if transient > 0:
        y = simulate(field, y, float(transient), n_save=4, **common).y_final
    out = simulate(field, y, float(window), n_save=int(n_save), **common)
    f, _, _ = flatten(field, out.y_final, 0.0, args)
    ys = out.ys
    params = eqx.filter(ys, eqx.is_inexact_array)
    leaves = jax.tree_util.tree_leaves(params)
    m = leaves[0].shape[0]
    V = np.concatenate([np.asarray(a).reshape(m, -1) for a in leaves], axis=1)
    ts = np.asarray(out.ts)
    ok = np.all(np.isfinite(V), axis=1)
    V, ts = V[ok], ts[ok]
    v_end = V[-1]
    h_end = np.asarray(f(jnp.asarray(v_end)))
    speed = float(np.max(np.abs(h_end))) if h_end.size else 0.0
    dist = np.linalg.norm(V - v_end, axis=1)
    amplitude = float(np.max(dist)) if len(dist) else 0.0
    s = (V - v_end) @ h_end
    up = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    times = []
    for i in up:
        w = s[i] / (s[i] - s[i + 1])
        t_c = ts[i] + w * (ts[i + 1] - ts[i])
        d = np.linalg.norm(V[i] + w * (V[i + 1] - V[i]) - v_end)
        if d <= return_tol * amplitude and t_c < ts[-1] - 1e-9 * (ts[-1] - ts[0]):
            times.append(t_c)
    period = float(ts[-1] - times[-1]) if times else float("nan")
    return PeriodGuess(
        y=out.y_final,
        period=period,
        returns=len(times),
        amplitude=amplitude,
        speed=speed,
        ts=np.asarray(out.ts),
        ys=out.ys,
    )
