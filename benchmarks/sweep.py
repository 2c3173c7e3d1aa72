"""Trajectories per second of `gdgan.sweep` against the ways people integrate many GAN
trajectories without it, at matched tolerance (rtol = atol = 1e-8), in the same run.

Methods, for each system and batch size B (the same B initial states, uniform in a box of
radius 1 around the equilibrium, integrated to t1 = 40):

- (a) `scipy.integrate.solve_ivp` (DOP853) in a Python loop, with a jitted field;
- (b) a Python loop over a jitted single-trajectory `diffrax.diffeqsolve`;
- (c) torchdiffeq, batched (dopri5) — skipped with a message when torch is not installed;
- (d) `jax.vmap` of a hand-written `diffrax.diffeqsolve` (Tsit5 + PID, what a JAX user
  writes without gdgan);
- gdgan `sweep(mode="vmap")` (per-trajectory steps) and `sweep(mode="batch")` (one shared
  step per chunk) — with gdgan's events, outcome classification and final-state spectra.

(a), (b) and (c) loop in Python, so they are timed on at most `--cap` trajectories and
their rate is extrapolated (marked `*`). JAX methods are compiled once (a warm-up call at
the same B), then the minimum of `--repeats` runs is reported. `err` is the largest
|y_final − reference| over the first 4 trajectories (reference: DOP853 at rtol 1e-13).
`mem` is the peak growth of the process's resident memory during the timed call (sampled
every 2 ms). On a shared 2-core machine numbers are noisy; compare within one run.

    python benchmarks/sweep.py [--quick] [--full] [--json] [--cap N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import gdgan  # noqa: E402

RTOL = ATOL = 1e-8
T1 = 40.0


# -- systems ------------------------------------------------------------------------------
DIRAC = gdgan.systems.dirac(loss="gan")
LQ = gdgan.systems.lq(loss="wgan")
SYSTEMS = {
    "dirac+penalty": (DIRAC, gdgan.GradientPenalty(0.5)),
    "lq-wgan+penalty": (LQ, gdgan.GradientPenalty(0.25)),
}


def make_dirac(p):
    return DIRAC


def make_lq(p):
    return LQ


MAKES = {"dirac+penalty": make_dirac, "lq-wgan+penalty": make_lq}
REGS = {
    "dirac+penalty": lambda p: [gdgan.GradientPenalty(0.5)],
    "lq-wgan+penalty": lambda p: [gdgan.GradientPenalty(0.25)],
}


def flat_field(system, reg):
    field = system.field(reg)
    params, unravel = ravel_pytree(system.equilibrium)

    def f(t, v, args=None):
        return ravel_pytree(field(t, unravel(v), None))[0]

    return f, params


# -- memory -------------------------------------------------------------------------------
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    def __enter__(self):
        self.base = self.peak = rss()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop:
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        self.peak = max(self.peak, rss())

    @property
    def mib(self):
        return (self.peak - self.base) / 2**20


# -- methods ------------------------------------------------------------------------------
def method_scipy(f, Y0, cap):
    from scipy.integrate import solve_ivp

    jf = jax.jit(f)
    fn = lambda t, y: np.asarray(jf(t, y))  # noqa: E731
    fn(0.0, Y0[0])
    n = min(cap, len(Y0))
    out = np.empty((n, Y0.shape[1]))
    start = time.perf_counter()
    for i in range(n):
        sol = solve_ivp(fn, (0.0, T1), Y0[i], method="DOP853", rtol=RTOL, atol=ATOL)
        out[i] = sol.y[:, -1]
    return time.perf_counter() - start, n, out


def diffrax_solve(f, y0):
    return diffrax.diffeqsolve(
        diffrax.ODETerm(f),
        diffrax.Tsit5(),
        0.0,
        T1,
        None,
        y0,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL),
        max_steps=100_000,
        throw=False,
    ).ys[-1]


def method_loop(f, Y0, cap):
    solve = jax.jit(lambda y0: diffrax_solve(f, y0))
    jax.block_until_ready(solve(jnp.asarray(Y0[0])))
    n = min(cap, len(Y0))
    outs = []
    start = time.perf_counter()
    for i in range(n):
        outs.append(solve(jnp.asarray(Y0[i])))
    jax.block_until_ready(outs)
    return time.perf_counter() - start, n, np.asarray(outs)


_VMAP_CACHE = {}


def method_vmap(f, Y0, name):
    if name not in _VMAP_CACHE:
        _VMAP_CACHE[name] = jax.jit(jax.vmap(lambda y0: diffrax_solve(f, y0)))
    solve = _VMAP_CACHE[name]
    Y = jnp.asarray(Y0)
    jax.block_until_ready(solve(Y))
    start = time.perf_counter()
    out = jax.block_until_ready(solve(Y))
    return time.perf_counter() - start, len(Y0), np.asarray(out)


def method_torch(system_name, Y0, cap):
    try:
        import torch
        from torchdiffeq import odeint
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    y = torch.tensor(Y0)
    t = torch.tensor([0.0, T1])
    if system_name.startswith("dirac"):
        # Dirac-GAN, f = log sigmoid, with the gradient penalty (eta = 0.5), written by hand:
        # V = f(0) + f(-psi theta); psi' = -theta s, theta' = psi s - eta d/dtheta (theta s)^2
        eta = 0.5

        def rhs(_, y):
            psi, theta = y[:, 0], y[:, 1]
            s = torch.sigmoid(psi * theta)  # f'(-psi theta) = sigmoid(psi theta)
            ds = s * (1 - s)
            g_psi = -theta * s
            dpen = 2 * (theta * s) * (s + theta * psi * ds)
            return torch.stack([g_psi, psi * s - eta * dpen], 1)
    else:
        # LQ WGAN (sigma = 1) with the penalty (eta = 0.25):
        # w' = 1 - a^2, a' = 2 w a - eta d/da (1 - a^2)^2 = 2 w a + 4 eta a (1 - a^2)
        eta = 0.25

        def rhs(_, y):
            w, a = y[:, 0], y[:, 1]
            return torch.stack([1 - a**2, 2 * w * a + 4 * eta * a * (1 - a**2)], 1)

    start = time.perf_counter()
    out = odeint(rhs, y, t, rtol=RTOL, atol=ATOL, method="dopri5")[-1]
    return time.perf_counter() - start, len(Y0), out.numpy()


def method_gdgan(name, Y0, mode):
    system, _ = SYSTEMS[name]
    _, unravel = ravel_pytree(system.equilibrium)
    inits = jax.vmap(unravel)(jnp.asarray(Y0))
    kw = dict(
        regularizers=REGS[name],
        inits=inits,
        t1=T1,
        rtol=RTOL,
        atol=ATOL,
        mode=mode,
        chunk_size=max(len(Y0), 1),
    )
    gdgan.sweep(MAKES[name], **kw)  # compile
    start = time.perf_counter()
    res = gdgan.sweep(MAKES[name], **kw)
    return time.perf_counter() - start, len(Y0), res.y_final


def reference(f, Y0):
    from scipy.integrate import solve_ivp

    jf = jax.jit(f)
    return np.stack(
        [
            solve_ivp(
                lambda t, y: np.asarray(jf(t, y)),
                (0.0, T1),
                y,
                method="DOP853",
                rtol=1e-13,
                atol=1e-13,
            ).y[:, -1]
            for y in Y0
        ]
    )


# -- driver -------------------------------------------------------------------------------
def run(sizes, cap, repeats, systems):
    rows = []
    torch_msg = None
    for name in systems:
        system, reg = SYSTEMS[name]
        f, center = flat_field(system, reg)
        rng = np.random.default_rng(0)
        Y_all = np.asarray(center) + rng.uniform(-1, 1, (max(sizes), center.size))
        ref = reference(f, Y_all[:4])
        for B in sizes:
            Y0 = Y_all[:B]
            methods = {
                "a scipy loop": lambda: method_scipy(f, Y0, cap),
                "b diffrax loop": lambda: method_loop(f, Y0, cap),
                "c torchdiffeq": lambda: method_torch(name, Y0, cap),
                "d vmap diffrax": lambda: method_vmap(f, Y0, name),
                "gdgan vmap": lambda: method_gdgan(name, Y0, "vmap"),
                "gdgan batch": lambda: method_gdgan(name, Y0, "batch"),
            }
            for label, fn in methods.items():
                best = None
                for _ in range(repeats):
                    with PeakMemory() as mem:
                        r = fn()
                    if r is None:
                        break
                    if best is None or r[0] < best[0][0]:
                        best = (r, mem.mib)
                if best is None:
                    torch_msg = "(c) torchdiffeq skipped: torch/torchdiffeq not installed"
                    continue
                (secs, n, out), mib = best
                k = min(4, len(out))
                err = float(np.max(np.abs(np.asarray(out)[:k] - ref[:k])))
                rows.append(
                    {
                        "system": name,
                        "batch": B,
                        "method": label,
                        "traj_per_s": n / secs,
                        "extrapolated": n < B,
                        "seconds": secs * B / n,
                        "max_err": err,
                        "peak_mib": mib,
                    }
                )
                print(
                    f"{name:<16} B={B:<7} {label:<15} {n / secs:>12.1f} traj/s"
                    f"{'*' if n < B else ' '}  err {err:.1e}  mem {mib:7.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    return rows, torch_msg


def table(rows, torch_msg):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["| system | B | " + " | ".join(methods) + " |", "|---|---:|" + "---:|" * len(methods)]
    keyed = {(r["system"], r["batch"], r["method"]): r for r in rows}
    for sys_, B in dict.fromkeys((r["system"], r["batch"]) for r in rows):
        cells = []
        for m in methods:
            r = keyed.get((sys_, B, m))
            cells.append(
                "—" if r is None else f"{r['traj_per_s']:,.0f}{'*' if r['extrapolated'] else ''}"
            )
        lines.append(f"| {sys_} | {B} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("traj/s (* = extrapolated from --cap trajectories). Errors and peak memory:")
    for r in rows:
        lines.append(
            f"  {r['system']:<16} B={r['batch']:<7} {r['method']:<15} "
            f"err {r['max_err']:.1e}  peak +{r['peak_mib']:.1f} MiB"
        )
    if torch_msg:
        lines.append(torch_msg)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch sizes 1, 10, 100 only")
    ap.add_argument("--full", action="store_true", help="add batch size 1e5 (slow)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument(
        "--cap",
        type=int,
        default=20,
        help="most trajectories timed for the Python-loop methods (a), (b)",
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--system", choices=list(SYSTEMS), action="append")
    args = ap.parse_args(argv)
    sizes = [1, 10, 100] if args.quick else [1, 10, 100, 1000, 10_000]
    if args.full:
        sizes.append(100_000)
    rows, torch_msg = run(sizes, args.cap, args.repeats, args.system or list(SYSTEMS))
    if args.json:
        print(
            json.dumps(
                {
                    "rtol": RTOL,
                    "atol": ATOL,
                    "t1": T1,
                    "rows": rows,
                    "devices": [str(d) for d in jax.devices()],
                    "note": torch_msg,
                }
            )
        )
    else:
        print(table(rows, torch_msg))


if __name__ == "__main__":
    main()
