"""`gdgan sweep`: a grid of hyperparameters × a set of initial states (`gdgan.sweep`)."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ._common import (
    CLIError,
    add_json,
    add_progress,
    add_system,
    build_system,
    check_out,
    default,
    dumps,
    emit,
    nonnegative,
    number,
    only_with,
    parse_params,
    positive,
    positive_int,
    progress,
    require_extra,
    seed,
)
from ._time import CONVERGE_TOL, T1

REGULARIZERS = {
    "eta": "GradientPenalty(eta), the paper's penalty (Nagarajan & Kolter 2017)",
    "gamma": "R1(gamma), discriminator penalty (gamma/2) E|grad_x D|^2 (Mescheder et al. 2018)",
}


def parse_grid(items) -> dict:
    """`--grid NAME=START:STOP:NUM` (linspace) or `--grid NAME=V1,V2,...` -> {name: values}."""
    out = {}
    for item in items or []:
        key, sep, spec = item.partition("=")
        bad = CLIError(f"--grid: expected NAME=START:STOP:NUM or NAME=V1,V2,..., got {item!r}")
        if not sep or not key or not spec:
            raise bad
        try:
            if ":" in spec:
                parts = spec.split(":")
                if len(parts) != 3:
                    raise bad
                start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
                if num < 1:
                    raise bad
                values = np.linspace(start, stop, num)
            else:
                values = np.array([float(v) for v in spec.split(",")])
        except ValueError:
            raise bad from None
        if not np.all(np.isfinite(values)):
            raise bad
        if key in out:
            raise CLIError(f"--grid: expected each name once, got {key!r} twice")
        out[key] = values
    return out


def parse_inits(text):
    """`box:RADIUS:N` (uniform) or `lattice:RADIUS:N` (N points per coordinate)."""
    from .._sweep import box, lattice

    if text is None:
        return None
    parts = text.split(":")
    bad = CLIError(f"--inits: expected box:RADIUS:N or lattice:RADIUS:N, got {text!r}")
    if len(parts) != 3 or parts[0] not in ("box", "lattice"):
        raise bad
    try:
        radius, n = float(parts[1]), int(parts[2])
    except ValueError:
        raise bad from None
    if not (radius > 0 and math.isfinite(radius) and n >= 1):
        raise bad
    return (box if parts[0] == "box" else lattice)(radius, n)


def _check_modes(args):
    discrete = args.steps is not None
    cont, disc = "in continuous time", "in discrete time (with --steps)"
    for flag in ("--t1", "--rtol", "--atol", "--mode"):
        only_with(args, flag, not discrete, cont, "with --steps")
    for flag in ("--lr", "--order"):
        only_with(args, flag, discrete, disc, "without --steps")
    only_with(args, "--seed", args.inits is not None, "with --inits", "without --inits")
    only_with(args, "--resume", args.out is not None, "with --out DIR", "without --out")
    default(args, "t1", None if discrete else T1)
    default(args, "mode", "auto")
    default(args, "lr", 0.01)
    default(args, "order", "simultaneous")
    default(args, "seed", 0)
    return discrete


def cmd_sweep(args):
    import optax

    from .. import systems
    from .._regularizers import R1, GradientPenalty
    from .._sweep import sweep

    lr_given = args.lr is not None
    discrete = _check_modes(args)
    grid = parse_grid(args.grid)
    fixed = parse_params(args.param)
    if args.system not in systems.REGISTRY:
        raise CLIError(f"system: expected one of {systems.names()}, got {args.system!r}")
    sys_params = systems.parameters(args.system)
    allowed = sorted({k for k in sys_params if k != "loss"} | set(REGULARIZERS) | {"lr"})
    for k in grid:
        if k not in allowed:
            raise CLIError(f"--grid: expected names from {allowed} for {args.system}, got {k!r}")
    if "lr" in grid and not discrete:
        raise CLIError("--grid: expected 'lr' (the step size) only with --steps, got it without")
    if "lr" in grid and not np.all(grid["lr"] > 0):  # eta, gamma: checked by the library
        bad = grid["lr"][~(grid["lr"] > 0)][0]
        raise CLIError(f"--grid: lr: expected positive step sizes, got {bad:g}")
    if "lr" in grid and lr_given:
        raise CLIError("--lr: expected either --lr or --grid lr=..., got both")
    inits = parse_inits(args.inits)
    if args.out:
        require_extra("matplotlib")
        check_out("--out", args.out)
    base = build_system(args.system, args.loss, fixed)  # one-line errors for bad parameters
    fixed = {k: v for k, v in base.params.items() if k in sys_params and k not in grid}
    sys_keys = [k for k in grid if k in sys_params]
    name = args.system

    def make(p):
        return systems.get(name, **fixed, **{k: p[k] for k in sys_keys})

    eta, gamma = args.eta, args.gamma

    def regularizers(p):
        regs = []
        if "eta" in p or eta:
            regs.append(GradientPenalty(p.get("eta", eta)))
        if "gamma" in p or gamma:
            regs.append(R1(p.get("gamma", gamma)))
        return regs

    tag = {"system": name, "loss": base.params.get("loss"), "params": fixed, "eta": eta}
    tag["gamma"] = gamma
    if discrete:
        kw = dict(
            steps=args.steps,
            order=args.order,
            optimizer=None if "lr" in grid else optax.sgd(args.lr),
        )
        tag.update(lr=None if "lr" in grid else args.lr, optimizer="sgd")
    else:
        kw = dict(t1=args.t1, rtol=args.rtol, atol=args.atol, mode=args.mode)
    res = sweep(
        make,
        grid,
        inits=inits,
        regularizers=regularizers,
        chunk_size=args.chunk,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        tag=tag,
        progress=progress(args),
        converge_tol=args.converge_tol,
        **kw,
    )
    summary = res.summary()
    files = []
    if args.out:
        from .. import plot

        files = ["results.npz", "summary.json"]
        if args.inits and len(res.leaf_names) >= 2:
            plot.basins(res).savefig(os.path.join(args.out, "basins.png"), dpi=110)
            files.append("basins.png")
        spectral = res.grid_spectral_radius if discrete else res.grid_max_real
        if grid and np.isfinite(np.asarray(spectral)).any():
            plot.stability_region(res).savefig(os.path.join(args.out, "stability.png"), dpi=110)
            files.append("stability.png")
        summary["out"] = os.path.abspath(args.out)
        summary["files"] = files
        with open(os.path.join(args.out, "summary.json"), "w") as fh:
            fh.write(json.dumps(json.loads(dumps(summary)), indent=2))
    counts = ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items() if v)
    lines = [
        f"{name}: {res.n_runs} runs ({res.n_inits} initial states × "
        f"{int(np.prod(res.grid_shape)) if grid else 1} grid points) in "
        f"{res.wall_time:.1f} s: {counts}"
    ]
    for row in summary.get("per_grid_point", [])[:40]:
        params = ", ".join(f"{k}={row[k]:.4g}" for k in grid)
        oc = ", ".join(f"{k} {v}" for k, v in row["outcomes"].items())
        lines.append(f"  {params:<28} verdict {row['verdict']:<9} {oc}")
    if args.out:
        lines.append(f"wrote {', '.join(files)} to {summary['out']}")
    emit(summary, args.json, "\n".join(lines))


def register(sub):
    sp = sub.add_parser(
        "sweep",
        help="many initial states and/or hyperparameters at once (vmapped, sharded)",
        description="Sweep a grid of hyperparameters × a set of initial states (gdgan.sweep; "
        "same defaults). Grid names: system parameters (e.g. sigma, scale), eta "
        "(GradientPenalty), gamma (R1, gamma/2 convention), lr (discrete step size, with "
        "--steps). Continuous time (--t1, like `gdgan simulate`) or discrete time (--steps, "
        "simultaneous or alternating SGD); flags of the other mode are errors.",
    )
    add_system(sp)
    add_json(sp)
    sp.add_argument(
        "--grid",
        action="append",
        metavar="NAME=START:STOP:NUM",
        help="a hyperparameter grid (linspace, or NAME=V1,V2,...); repeatable (default: none)",
    )
    sp.add_argument(
        "--inits",
        metavar="box:RADIUS:N",
        help="initial states: box:RADIUS:N (N uniform around the equilibrium) or "
        "lattice:RADIUS:N (N per coordinate) (default: the system's init)",
    )
    sp.add_argument(
        "--gamma",
        type=nonnegative("--gamma"),
        default=0.0,
        help="R1 strength γ when not swept (0 = none)",
    )
    sp.add_argument(
        "--t1",
        type=positive("--t1"),
        default=None,
        help=f"final time (default: {T1:g}, as in `gdgan simulate`; continuous time only)",
    )
    sp.add_argument(
        "--steps",
        type=positive_int("--steps"),
        default=None,
        help="discrete time: SGD steps (instead of --t1) (default: continuous time)",
    )
    sp.add_argument(
        "--lr",
        type=positive("--lr"),
        default=None,
        help="SGD step size when not swept (default: 0.01; only with --steps)",
    )
    sp.add_argument(
        "--order",
        choices=["simultaneous", "alternating"],
        default=None,
        help="update order (default: simultaneous; only with --steps)",
    )
    sp.add_argument(
        "--rtol",
        type=number("--rtol", float, 0, True, 1, True),
        default=None,
        help="relative tolerance of the ODE solver (default: the API's, 1e-10 in float64; "
        "continuous time only)",
    )
    sp.add_argument(
        "--atol",
        type=positive("--atol"),
        default=None,
        help="absolute tolerance of the ODE solver (default: the API's, 1e-10 in float64; "
        "continuous time only)",
    )
    sp.add_argument(
        "--converge-tol",
        type=positive("--converge-tol"),
        default=CONVERGE_TOL,
        help="a run has converged when ‖h(y)‖ falls below this (the API's converge_tol)",
    )
    sp.add_argument(
        "--mode",
        choices=["auto", "vmap", "batch"],
        default=None,
        help="per-trajectory steps (vmap) or one shared step per chunk (batch) (default: "
        "auto; continuous time only)",
    )
    sp.add_argument(
        "--chunk", type=positive_int("--chunk"), default=4096, help="runs per chunk (memory bound)"
    )
    sp.add_argument(
        "--seed",
        type=seed(),
        default=None,
        help="seed of jax.random.PRNGKey for the initial-state sampler (default: 0; only with "
        "--inits)",
    )
    sp.add_argument(
        "--out",
        metavar="DIR",
        help="write chunks, manifest.json, results.npz, summary.json and maps (default: none)",
    )
    sp.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out, skipping its finished chunks",
    )
    add_progress(sp)
    sp.set_defaults(func=cmd_sweep)
