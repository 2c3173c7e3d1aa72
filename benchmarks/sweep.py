"""Trajectories per second of `gdgan.sweep` against the ways people integrate many GAN
trajectories without it, at matched tolerance (rtol = atol = 1e-8), in the same run.

Methods, for each system and batch size B (the same B initial states, uniform in a box of
radius 1 around the equilibrium, integrated to t1 = 40):

- (a) `scipy.integrate.solve_ivp` (DOP853) in a Python loop, with a jitted field;
- (b) a Python loop over a jitted single-trajectory `diffrax.diffeqsolve`;
- (c) torchdiffeq, batched (dopri5) — skipped with a message when torch is not installed;
- (d) `jax.vmap` of a hand-written `diffrax.diffeqsolve` (Tsit5 + PID, final state only:
  what a JAX user writes without gdgan);
- (e) a hand-written shared-step solve: the whole batch as one state, one `diffeqsolve`
  (default RMS norm over the batch: the step controls the batch's *average* error);
- (e') the same with each run's error controlled (the max over runs of each run's RMS
  error, as `sweep(mode="batch")` does): the like-for-like baseline of the batch mode;
- gdgan `sweep(mode="vmap")` (per-trajectory steps) and `sweep(mode="batch")` (one shared
  step per chunk) — with gdgan's events, outcome classification and final-state spectra.

(a), (b) and (c) loop in Python, so they are timed on at most `--cap` trajectories and
their rate is extrapolated (marked `*`). JAX methods report `cold` (the first call, compile
included; set no persistent compilation cache for a true cold number) and `warm` (minimum
of `--repeats` further calls); gdgan is called with a fresh `make` lambda every time (a
re-run notebook cell), which must not recompile. `err` is the largest
|y_final − reference| over the first 4 trajectories (reference: DOP853 at rtol 1e-13).
`mem` is the peak growth of the process's resident memory during the timed call (sampled
every 2 ms). On a shared 2-core machine numbers are noisy; compare within one run.

    python benchmarks/sweep.py [--quick] [--full] [--runs N ...] [--json] [--cap N] [--repeats R]
                               [--cold-rounds K]

`--cold-rounds K` also times each JAX row's first call in K fresh Python processes (no
persistent compilation cache) at the largest batch size, the rows interleaved within each
round, and reports the minimum and the median: the honest "cold" number (in-process cold
rows run after other rows have warmed JAX's own caches).

The output records the machine (CPU / devices) and its load average before and after:
compare rows of one run only, on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import equinox as eqx  # noqa: E402
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


def _cold_warm(fn, repeats):
    """(cold seconds, best warm seconds, output) of a callable returning an array (or a
    tuple whose first item is the output compared with the reference)."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    cold = time.perf_counter() - start
    warm = float("inf") if repeats else float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        warm = min(warm, time.perf_counter() - start)
    return cold, warm, np.asarray(out[0] if isinstance(out, tuple) else out)


def method_vmap(f, Y0, repeats):
    solve = jax.jit(jax.vmap(lambda y0: diffrax_solve(f, y0)))
    Y = jnp.asarray(Y0)
    return _cold_warm(lambda: solve(Y), repeats)


class RunNorm(eqx.Module):
    """Each run's RMS error, maximised over the runs (what `sweep(mode="batch")` controls)."""

    def __call__(self, Y):
        return jnp.max(jnp.sqrt(jnp.mean(jnp.square(Y), axis=1)))


def method_shared(f, Y0, repeats, norm=None):
    fb = jax.vmap(lambda v: f(0.0, v))
    kw = {} if norm is None else {"norm": norm}
    solve = jax.jit(
        lambda Y: diffrax.diffeqsolve(
            diffrax.ODETerm(lambda t, Y, args: fb(Y)),
            diffrax.Tsit5(),
            0.0,
            T1,
            None,
            Y,
            saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL, **kw),
            max_steps=100_000,
            throw=False,
        ).ys[-1]
    )
    Y = jnp.asarray(Y0)
    return _cold_warm(lambda: solve(Y), repeats)


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


def method_gdgan(name, Y0, mode, repeats):
    system, reg = SYSTEMS[name]
    _, unravel = ravel_pytree(system.equilibrium)
    inits = jax.vmap(unravel)(jnp.asarray(Y0))
    kw = dict(
        inits=inits,
        t1=T1,
        rtol=RTOL,
        atol=ATOL,
        mode=mode,
        chunk_size=max(len(Y0), 1),
        spectrum=False,
    )
    # a fresh lambda on every call, as a re-run notebook cell passes
    return _cold_warm(
        lambda: gdgan.sweep(lambda p: system, regularizers=lambda p: [reg], **kw).y_final,
        repeats,
    )


def method_simulate(name, Y0, repeats):
    """`jax.vmap(gdgan.simulate)` with `SaveAt(t1=True)` (issue: <= 1.1x the bare vmap),
    returning the final state *and the outcome*: with the final state alone XLA drops the
    outcome's bookkeeping (the window readings, the stop) as dead code."""
    system, reg = SYSTEMS[name]
    field = system.field(reg)
    _, unravel = ravel_pytree(system.equilibrium)
    inits = jax.vmap(unravel)(jnp.asarray(Y0))

    def one(y):
        out = gdgan.simulate(
            field, y, T1, saveat=diffrax.SaveAt(t1=True), rtol=RTOL, atol=ATOL, throw=False
        )
        o = out.outcome
        return ravel_pytree(out.y_final)[0], (
            o == gdgan.Outcome.cycling,
            o == gdgan.Outcome.converged,
        )

    solve = jax.jit(jax.vmap(one))
    return _cold_warm(lambda: solve(inits), repeats)


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
def machine():
    """The machine and its load, recorded with every table."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "device_kind": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "diffrax": diffrax.__version__,
        "gdgan": gdgan.__version__ if hasattr(gdgan, "__version__") else None,
        "load_avg": list(os.getloadavg()),
    }


def jax_methods(name, f, Y0, repeats):
    """The JAX rows: label -> callable returning (cold s, warm s, output)."""
    return {
        "d vmap diffrax": lambda: method_vmap(f, Y0, repeats),
        "e shared step": lambda: method_shared(f, Y0, repeats),
        "e' per-run norm": lambda: method_shared(f, Y0, repeats, RunNorm()),
        "vmap(simulate)": lambda: method_simulate(name, Y0, repeats),
        "gdgan vmap": lambda: method_gdgan(name, Y0, "vmap", repeats),
        "gdgan batch": lambda: method_gdgan(name, Y0, "batch", repeats),
    }


def initial_states(name, B):
    system, reg = SYSTEMS[name]
    f, center = flat_field(system, reg)
    rng = np.random.default_rng(0)
    return f, np.asarray(center) + rng.uniform(-1, 1, (B, center.size))


def one_cold(name, B, label):
    """The first call of one JAX row in this (fresh) process, compilation included."""
    f, Y0 = initial_states(name, B)
    jax.block_until_ready(jnp.asarray(Y0))
    return jax_methods(name, f, Y0, 0)[label]()[0]


def fresh_cold(systems, B, rounds):
    """Cold seconds of each JAX row, each a first call in a fresh Python process with no
    persistent compilation cache: `rounds` rounds, the rows interleaved within each round
    (so that a slow spell of a shared machine falls on every row alike). Returns rows
    with the minimum and the median over the rounds."""
    import statistics
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    times = {}
    for _ in range(rounds):
        for name in systems:
            for label in jax_methods(name, None, None, 0):
                cmd = [sys.executable, __file__, "--one-cold", label, "--system", name]
                cmd += ["--runs", str(B)]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                secs = float(out.stdout.strip().splitlines()[-1])
                times.setdefault((name, label), []).append(secs)
                print(f"{name:<16} B={B:<7} {label:<15} fresh cold {secs:.3f}s", file=sys.stderr)
    return [
        {
            "system": name,
            "batch": B,
            "method": label,
            "cold_min_s": min(t),
            "cold_median_s": statistics.median(t),
            "cold_all_s": t,
        }
        for (name, label), t in times.items()
    ]


def cold_table(rows):
    lines = [
        "| system | method | cold min | cold median | ratio (median) to its hand-written row |",
        "|---|---|---:|---:|---:|",
    ]
    keyed = {(r["system"], r["method"]): r for r in rows}
    base = {"gdgan vmap": "d vmap diffrax", "vmap(simulate)": "d vmap diffrax"}
    base |= {"gdgan batch": "e shared step"}
    for r in rows:
        b = keyed.get((r["system"], base.get(r["method"], "")))
        ratio = f"{b['cold_median_s'] / r['cold_median_s']:.2f}x" if b else ""
        lines.append(
            f"| {r['system']} | {r['method']} | {r['cold_min_s']:.2f} s | "
            f"{r['cold_median_s']:.2f} s | {ratio} |"
        )
    return "\n".join(lines)


def run(sizes, cap, repeats, systems):
    rows = []
    torch_msg = None
    for name in systems:
        f, Y_all = initial_states(name, max(sizes))
        ref = reference(f, Y_all[:4])
        for B in sizes:
            Y0 = Y_all[:B]
            loops = {
                "a scipy loop": lambda: method_scipy(f, Y0, cap),
                "b diffrax loop": lambda: method_loop(f, Y0, cap),
                "c torchdiffeq": lambda: method_torch(name, Y0, cap),
            }
            jitted = jax_methods(name, f, Y0, repeats)
            for label, fn in {**loops, **jitted}.items():
                with PeakMemory() as mem:
                    r = fn()
                if r is None:
                    torch_msg = "(c) torchdiffeq skipped: torch/torchdiffeq not installed"
                    continue
                if label in loops:
                    secs, n, out = r
                    cold = warm = secs * B / n
                    extrapolated = n < B
                else:
                    cold, warm, out = r
                    extrapolated = False
                out = np.asarray(out).reshape(np.shape(out)[0], -1)
                k = min(4, len(out))
                err = float(np.max(np.abs(out[:k] - ref[:k])))
                rows.append(
                    {
                        "system": name,
                        "batch": B,
                        "method": label,
                        "traj_per_s": B / warm,
                        "warm_s": warm,
                        "cold_s": cold,
                        "extrapolated": extrapolated,
                        "max_err": err,
                        "peak_mib": mem.mib,
                    }
                )
                print(
                    f"{name:<16} B={B:<7} {label:<15} {B / warm:>12.1f} traj/s"
                    f"{'*' if extrapolated else ' '} cold {cold:8.3f}s warm {warm:8.4f}s "
                    f"err {err:.1e}  mem {mem.mib:7.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    return rows, torch_msg


def table(rows, torch_msg, info):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    head = "| system | B | " + " | ".join(methods) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(methods)]
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
    lines.append("warm traj/s (* = extrapolated from --cap trajectories). Ratios to the")
    lines.append("hand-written rows (warm / cold), errors and peak memory:")
    for r in rows:
        d = keyed.get((r["system"], r["batch"], "d vmap diffrax"))
        e = keyed.get((r["system"], r["batch"], "e shared step"))
        ratio = ""
        jax_row = not r["method"].startswith(("a ", "b ", "c "))
        e2 = keyed.get((r["system"], r["batch"], "e' per-run norm"))
        baselines = ("d vmap diffrax", "e shared step", "e' per-run norm")
        if d and e and jax_row and r["method"] not in baselines:
            ratio = (
                f" vs d {d['warm_s'] / r['warm_s']:.2f}x/{d['cold_s'] / r['cold_s']:.2f}x"
                f" vs e {e['warm_s'] / r['warm_s']:.2f}x/{e['cold_s'] / r['cold_s']:.2f}x"
            )
            if e2:
                ratio += (
                    f" vs e' {e2['warm_s'] / r['warm_s']:.2f}x/{e2['cold_s'] / r['cold_s']:.2f}x"
                )
        lines.append(
            f"  {r['system']:<16} B={r['batch']:<7} {r['method']:<15} cold {r['cold_s']:.3f}s "
            f"warm {r['warm_s']:.4f}s err {r['max_err']:.1e} peak +{r['peak_mib']:.1f} MiB{ratio}"
        )
    if torch_msg:
        lines.append(torch_msg)
    lines.append(
        f"machine: {info['cpu']} ({info['cores']} cores), devices {info['devices']}, "
        f"load average before {info['load_before']} after {info['load_after']}"
    )
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch sizes 1, 10, 100 only")
    ap.add_argument("--full", action="store_true", help="add batch size 1e5 (slow)")
    ap.add_argument("--runs", type=int, nargs="+", help="batch sizes (overrides the presets)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument(
        "--cap",
        type=int,
        default=20,
        help="most trajectories timed for the Python-loop methods (a), (b), (c)",
    )
    ap.add_argument("--repeats", type=int, default=2, help="warm calls (minimum reported)")
    ap.add_argument("--system", choices=list(SYSTEMS), action="append")
    ap.add_argument(
        "--cold-rounds",
        type=int,
        default=0,
        help="also time each JAX row's first call in fresh processes, this many rounds, "
        "at the largest batch size",
    )
    ap.add_argument("--one-cold", help=argparse.SUPPRESS)  # internal: one fresh-process row
    args = ap.parse_args(argv)
    if args.one_cold:
        print(one_cold(args.system[0], args.runs[0], args.one_cold))
        return
    sizes = [1, 10, 100] if args.quick else [1, 10, 100, 1000, 10_000]
    if args.full:
        sizes.append(100_000)
    if args.runs:
        sizes = args.runs
    info = machine()
    info["load_before"] = [round(x, 2) for x in os.getloadavg()]
    systems = args.system or list(SYSTEMS)
    rows, torch_msg = run(sizes, args.cap, args.repeats, systems)
    cold = fresh_cold(systems, max(sizes), args.cold_rounds) if args.cold_rounds else []
    info["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(
            json.dumps(
                {
                    "rtol": RTOL,
                    "atol": ATOL,
                    "t1": T1,
                    "rows": rows,
                    "fresh_cold": cold,
                    "machine": info,
                    "note": torch_msg,
                }
            )
        )
    else:
        print(table(rows, torch_msg, info))
        if cold:
            print("\nFirst call in a fresh process (no persistent compilation cache):\n")
            print(cold_table(cold))


if __name__ == "__main__":
    main()
