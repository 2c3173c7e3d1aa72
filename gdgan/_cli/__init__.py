"""The `gdgan` command line. It holds no logic the Python API lacks: each command parses,
calls the library, and prints a table or one JSON object (`--json`)."""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

EPILOG = "Every command that computes numbers accepts --json (one JSON object on stdout)."


class CLIError(Exception):
    """A one-line user error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise CLIError(message)


def _enable_x64():
    import jax

    jax.config.update("jax_enable_x64", True)


def parse_value(text: str):
    """`"3"` -> 3, `"0.5"` -> 0.5, anything else stays a string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items, flag="--param") -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"{flag}: expected KEY=VALUE, got {item!r}")
        out[key] = parse_value(value)
    return out


def nonneg_float(flag):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: expected a non-negative number, got {text!r}"
            ) from None
        if not value >= 0 or math.isinf(value):
            raise argparse.ArgumentTypeError(
                f"{flag}: expected a non-negative number, got {text!r}"
            )
        return value

    return parse


def build_system(name: str, loss: str | None, params: dict):
    from .. import systems

    if name not in systems.REGISTRY:
        raise CLIError(f"system: expected one of {systems.names()}, got {name!r}")
    if loss is not None:
        if "loss" not in systems.parameters(name):
            raise CLIError(f"--loss: system {name!r} has a fixed objective; omit --loss")
        params = {**params, "loss": loss}
    return systems.get(name, **params)


def regularizers_from(args):
    from .._regularizers import GradientPenalty

    if not getattr(args, "eta", 0.0):
        return []
    return [GradientPenalty(args.eta, unbiased=bool(getattr(args, "unbiased_penalty", False)))]


def emit(obj, as_json: bool, text: str):
    print(json.dumps(obj) if as_json else text)


# ---------------------------------------------------------------------------------------
def cmd_systems(args):
    from .. import systems

    rows = [
        {
            "name": name,
            "params": systems.parameters(name),
            "description": systems.get(name).description,
        }
        for name in systems.names()
    ]
    text = "\n".join(
        f"{r['name']:<14} {r['description']}\n{'':<14} params: "
        + ", ".join(f"{k}={v}" for k, v in r["params"].items())
        for r in rows
    )
    emit({"systems": rows}, args.json, text)


def spectrum_dict(name, rep, n):
    eig = np.asarray(rep.eigenvalues)
    return {
        "system": name,
        "n": int(n),
        "eigenvalues": [[float(e.real) + 0.0, float(e.imag) + 0.0] for e in eig],
        "verdict": str(rep.verdict_name),
        "max_real": float(np.max(eig.real)) + 0.0,
        "max_stable_step": float(rep.max_stable_step),
    }


def cmd_spectrum(args):
    from .._analysis import stability

    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    y = (
        sys_.equilibrium
        if (args.at == "equilibrium" and sys_.equilibrium is not None)
        else sys_.init
    )
    if args.matrix_free:
        return _spectrum_matrix_free(args, sys_, y)
    if sys_.n > args.max_dense:
        raise CLIError(
            f"system: {args.system} has n = {sys_.n} parameters, above --max-dense "
            f"{args.max_dense} for a dense Jacobian; shrink it with --param width=..."
        )
    rep = stability(sys_.field(*regularizers_from(args)), y, tol=args.tol)
    out = spectrum_dict(args.system, rep, sys_.n)
    where = "equilibrium" if y is sys_.equilibrium else "initial state (no known equilibrium)"
    lines = [
        f"{args.system}: n = {out['n']}, at the {where}",
        f"verdict: {out['verdict']}   max Re λ = {out['max_real']:.6g}   "
        f"max stable step = {out['max_stable_step']:.6g}",
        "eigenvalues (largest real part first):",
    ]
    lines += [f"  {re:+.8f} {im:+.8f}i" for re, im in out["eigenvalues"][: args.show]]
    if len(out["eigenvalues"]) > args.show:
        lines.append(f"  ... {len(out['eigenvalues']) - args.show} more")
    emit(out, args.json, "\n".join(lines))


def _spectrum_matrix_free(args, sys_, y):
    from .._analysis import Verdict, enum_name, verdict_from_max_real
    from .._spectra import max_stable_step, rightmost_eigenvalues

    if args.k < 1 or args.k > sys_.n:
        raise CLIError(f"--k: expected an integer in [1, {sys_.n}], got {args.k}")
    field = sys_.field(*regularizers_from(args))
    res = rightmost_eigenvalues(field, y, args.k, tol=args.mf_tol)
    max_real = res.max_real
    verdict = verdict_from_max_real(max_real, args.tol)
    step = None
    if verdict != Verdict.stable:
        step = 0.0
    elif args.stable_step:
        step = max_stable_step(field, y, tol=args.mf_tol, margin=args.tol)
    out = {
        "system": args.system,
        "n": int(sys_.n),
        "eigenvalues": [[float(e.real), float(e.imag)] for e in res.eigenvalues],
        "verdict": str(enum_name(Verdict, verdict)),
        "max_real": float(max_real),
        "max_stable_step": step,
        "method": res.method,
        "residuals": [float(r) for r in res.residuals],
        "converged": bool(res.all_converged),
        "n_matvecs": int(res.n_matvecs),
    }
    where = "equilibrium" if y is sys_.equilibrium else "initial state (no known equilibrium)"
    lines = [
        f"{args.system}: n = {out['n']}, at the {where} (matrix-free, {res.n_matvecs} JVPs)",
        f"verdict: {out['verdict']}   max Re λ = {out['max_real']:.6g}   max stable step = "
        + ("not computed (--stable-step)" if step is None else f"{step:.6g}"),
        f"{args.k} rightmost eigenvalues (residual):",
    ]
    lines += [
        f"  {e.real:+.8f} {e.imag:+.8f}i   ({r:.1e})"
        for e, r in zip(res.eigenvalues, res.residuals)
    ]
    if not res.all_converged:
        lines.append("warning: not every eigenvalue converged; raise --k or check residuals")
    emit(out, args.json, "\n".join(lines))


def cmd_bench(args):
    from ._bench import bench, table

    sizes = args.sizes or ([300, 1000] if args.name == "jacobian" else [300])
    mf = args.mf_sizes if args.mf_sizes is not None else []
    for n in sizes:
        if n < 10:
            raise CLIError(f"--sizes: expected integers >= 10, got {n}")
    rows = bench(args.name, sizes, repeats=args.repeats, timeout=args.timeout, extra_mf=mf)
    emit({"benchmark": args.name, "rows": rows}, args.json, table(rows))


def stability_table(etas=(0.0, 0.5), losses=("gan", "wgan", "nsgan")):
    """Rows of verdicts for every built-in system with a known equilibrium × loss × η."""
    from ..systems import stability_rows

    keys = ("system", "loss", "eta", "verdict", "max_real", "max_stable_step")
    return [{k: r[k] for k in keys} for r in stability_rows(etas, losses)]


def cmd_table(args):
    rows = stability_table(tuple(args.eta))
    head = f"{'system':<14}{'loss':<7}{'eta':>6}  {'verdict':<9}{'max Re λ':>14}{'max step':>12}"
    lines = [
        "Local stability at each built-in system's equilibrium, without and with the "
        "gradient penalty (Nagarajan & Kolter 2017)",
        head,
        "-" * len(head),
    ]
    lines += [
        f"{r['system']:<14}{r['loss']:<7}{r['eta']:>6g}  {r['verdict']:<9}"
        f"{r['max_real']:>14.6g}{r['max_stable_step']:>12.4g}"
        for r in rows
    ]
    emit({"rows": rows}, args.json, "\n".join(lines))


# -- time evolution (simulate, train) ---------------------------------------------------
def positive_float(flag):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: expected a positive number, got {text!r}"
            ) from None
        if not value > 0 or math.isinf(value):
            raise argparse.ArgumentTypeError(f"{flag}: expected a positive number, got {text!r}")
        return value

    return parse


def positive_int(flag):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: expected a positive integer, got {text!r}"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag}: expected a positive integer, got {text!r}")
        return value

    return parse


from .._tree import leaf_names  # noqa: E402


def set_leaves(y, items):
    """`--y0 K=V`: set the leaves named K (`a` or `gen.a`) of the state `y` to V."""
    import jax
    import jax.numpy as jnp

    leaves, treedef = jax.tree_util.tree_flatten(y)
    names = leaf_names(y)
    for key, value in parse_params(items, "--y0").items():
        if isinstance(value, str) or not math.isfinite(value):
            raise CLIError(f"--y0: {key}: expected a finite number, got {value!r}")
        hits = [i for i, n in enumerate(names) if n == key or n.split(".")[-1] == key]
        if not hits:
            raise CLIError(f"--y0: the state has leaves {names}, got {key!r}")
        if len(hits) > 1:
            raise CLIError(f"--y0: {key!r} is ambiguous, use one of {[names[i] for i in hits]}")
        leaves[hits[0]] = jnp.full_like(jnp.asarray(leaves[hits[0]], float), value)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _progress(args):
    if args.progress is not None:
        return args.progress
    return not args.json and sys.stderr.isatty()


def _state_dict(y, max_leaves=16):
    names, leaves = leaf_names(y), __import__("jax").tree_util.tree_leaves(y)
    if len(leaves) > max_leaves or any(np.size(x) != 1 for x in leaves):
        return None
    return {n: float(np.asarray(x)) for n, x in zip(names, leaves)}


def _write_outputs(args, sys_, field, result, summary, arrays):
    """trajectory.npz, summary.json, phase.png (2-parameter systems), timeseries.png."""
    import os

    from .. import plot

    os.makedirs(args.out, exist_ok=True)
    files = ["trajectory.npz", "summary.json"]
    np.savez(os.path.join(args.out, "trajectory.npz"), **arrays)
    if sys_.n == 2:
        name = f"{args.system} ({sys_.params.get('loss', '')}, η = {args.eta:g})"
        fig = plot.phase_portrait(
            field,
            sys_.equilibrium,
            trajectories=[result],
            title=f"{args.command}: {name} — {summary['outcome']}",
        )
        fig.savefig(os.path.join(args.out, "phase.png"), dpi=120)
        files.append("phase.png")
    if sys_.equilibrium is not None:
        fig = plot.time_series(
            result, sys_.equilibrium, conserved=sys_.conserved if args.eta == 0 else None
        )
        fig.savefig(os.path.join(args.out, "timeseries.png"), dpi=110)
        files.append("timeseries.png")
    summary["out"] = os.path.abspath(args.out)
    summary["files"] = files
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)


def _history_arrays(ts, ys):
    import jax

    arrays = {"ts": np.asarray(ts)}
    for name, leaf in zip(leaf_names(ys), jax.tree_util.tree_leaves(ys)):
        arrays[name] = np.asarray(leaf)
    return arrays


def cmd_simulate(args):
    import time

    import jax

    from .._simulate import simulate

    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    field = sys_.field(*regularizers_from(args))
    y0 = set_leaves(sys_.init, args.y0)
    start = time.perf_counter()
    out = simulate(
        field,
        y0,
        args.t1,
        y_star=sys_.equilibrium,
        conserved=sys_.conserved,
        rtol=args.rtol,
        atol=args.atol,
        max_steps=args.max_steps,
        n_save=args.n_save,
        throw=False,
        progress=_progress(args),
    )
    jax.block_until_ready(out)
    wall = time.perf_counter() - start
    summary = {
        "command": "simulate",
        "system": args.system,
        "loss": sys_.params.get("loss"),
        "eta": args.eta,
        "n": int(sys_.n),
        "y0": _state_dict(y0),
        "t1": args.t1,
        "outcome": str(out.outcome_name),
        "message": out.message,
        "final_distance": _num(out.distance),
        "residual": _num(out.residual),
        "t_final": _num(out.t_final),
        "steps": int(out.steps),
        "conserved_drift": _num(out.conserved_drift),
        "amplitude_ratio": _num(out.amplitude_ratio),
        "wall_time_s": wall,
    }
    if args.out:
        arrays = _history_arrays(out.ts, out.ys)
        arrays["outcome"] = np.array(summary["outcome"])
        _write_outputs(args, sys_, field, out, summary, arrays)
    fd = summary["final_distance"]
    text = (
        f"{args.system}: {summary['outcome']} — {summary['message']}\n"
        f"t_final = {summary['t_final']:.6g}, steps = {summary['steps']}, "
        f"final distance to equilibrium = {'n/a' if fd is None else f'{fd:.3e}'}, "
        f"‖h‖ = {summary['residual']:.3e}, wall time = {wall:.2f} s"
        + (f"\nwrote {', '.join(summary['files'])} to {summary['out']}" if args.out else "")
    )
    emit(summary, args.json, text)


def optimizer_from(args):
    import optax

    from .._train import extragradient

    name, lr = args.optimizer, args.lr
    if name == "sgd":
        return optax.sgd(lr)
    if name == "momentum":
        return optax.sgd(lr, momentum=args.momentum)
    if name == "adam":
        return optax.adam(lr, b1=args.beta1)
    if name == "optimistic":
        return optax.optimistic_gradient_descent(lr)
    return extragradient(lr)


def cmd_train(args):
    import time

    import jax

    from .._train import train

    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    regs = regularizers_from(args)
    y0 = set_leaves(sys_.init, args.y0)
    if args.disc_steps != 1 and args.order != "alternating":
        raise CLIError("--disc-steps: only with --order alternating")
    stride = args.stride or max(1, args.steps // 1000)
    start = time.perf_counter()
    out = train(
        sys_.game,
        y0,
        optimizer_from(args),
        args.steps,
        order=args.order,
        disc_steps=args.disc_steps,
        regularizers=regs,
        batch=args.batch,
        key=jax.random.PRNGKey(args.seed),
        stride=stride,
        y_star=sys_.equilibrium,
        progress=_progress(args),
    )
    jax.block_until_ready(out)
    wall = time.perf_counter() - start
    summary = {
        "command": "train",
        "system": args.system,
        "loss": sys_.params.get("loss"),
        "eta": args.eta,
        "n": int(sys_.n),
        "y0": _state_dict(y0),
        "optimizer": args.optimizer,
        "lr": args.lr,
        "steps": args.steps,
        "order": args.order,
        "disc_steps": args.disc_steps,
        "batch": args.batch,
        "unbiased_penalty": args.unbiased_penalty,
        "outcome": str(out.outcome_name),
        "final_distance": _num(out.distance),
        "residual": _num(out.residual),
        "final_grad_norm_disc": _num(out.grad_norm_disc[-1]),
        "final_grad_norm_gen": _num(out.grad_norm_gen[-1]),
        "final_value": _num(out.value[-1]),
        "wall_time_s": wall,
    }
    if args.out:
        field = sys_.field(*regs)
        arrays = _history_arrays(out.ts, out.ys)
        arrays.update(
            grad_norm_disc=np.asarray(out.grad_norm_disc),
            grad_norm_gen=np.asarray(out.grad_norm_gen),
            value=np.asarray(out.value),
        )
        _write_outputs(args, sys_, field, out, summary, arrays)
    fd = summary["final_distance"]
    text = (
        f"{args.system}: {args.optimizer} (lr {args.lr:g}, {args.order}) for {args.steps} steps:"
        f" {summary['outcome']}\nfinal distance to equilibrium = "
        f"{'n/a' if fd is None else f'{fd:.3e}'}, ‖h‖ = {_num(out.residual)}, "
        f"wall time = {wall:.2f} s"
        + (f"\nwrote {', '.join(summary['files'])} to {summary['out']}" if args.out else "")
    )
    emit(summary, args.json, text)


# ---------------------------------------------------------------------------------------
def cmd_reproduce(args):
    from .._reproduce import reproduce

    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    sections = reproduce(
        args.name, out=args.out, quick=args.quick, log=log, jobs=args.jobs, resume=args.resume
    )
    if args.json:
        if len(sections) == 1:
            s = sections[0]
            obj = {
                "name": s.name,
                "reproduced": bool(s.reproduced),
                "reason": s.reason,
                **s.numbers,
            }
        else:
            obj = {"sections": [s.to_json() for s in sections], "report": f"{args.out}/report.md"}
        print(json.dumps(obj, default=float))
        return
    for s in sections:
        print(f"{s.name:<20} {'reproduced' if s.reproduced else 'NOT reproduced':<15} {s.reason}")
    print(f"report: {args.out}/report.md (and report.html)")


# -- sweeps ------------------------------------------------------------------------------
SWEEP_REGULARIZERS = {
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
            raise CLIError(f"--grid: {key!r} is given twice")
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


def cmd_sweep(args):
    import os

    import optax

    from .. import systems
    from .._regularizers import R1, GradientPenalty
    from .._sweep import sweep

    grid = parse_grid(args.grid)
    fixed = parse_params(args.param)
    if args.system not in systems.REGISTRY:
        raise CLIError(f"system: expected one of {systems.names()}, got {args.system!r}")
    sys_params = systems.parameters(args.system)
    discrete = args.steps is not None
    if discrete and args.t1 is not None:
        raise CLIError("--t1: continuous time only; omit it with --steps (discrete time)")
    allowed = sorted({k for k in sys_params if k != "loss"} | set(SWEEP_REGULARIZERS) | {"lr"})
    for k in grid:
        if k not in allowed:
            raise CLIError(
                f"--grid: {k!r} cannot be swept for {args.system}; expected one of {allowed}"
            )
    if "lr" in grid and not discrete:
        raise CLIError("--grid: 'lr' is the discrete step size; it needs --steps N")
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

    tag = {
        "system": name,
        "loss": base.params.get("loss"),
        "params": fixed,
        "eta": eta,
        "gamma": gamma,
    }
    if discrete:
        kw = dict(
            steps=args.steps,
            order=args.order,
            optimizer=None if "lr" in grid else optax.sgd(args.lr),
        )
        tag.update(lr=None if "lr" in grid else args.lr, optimizer="sgd")
    else:
        kw = dict(
            t1=50.0 if args.t1 is None else args.t1, rtol=args.rtol, atol=args.rtol, mode=args.mode
        )
    progress = args.progress if args.progress is not None else not args.json
    res = sweep(
        make,
        grid,
        inits=parse_inits(args.inits),
        regularizers=regularizers,
        chunk_size=args.chunk,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        tag=tag,
        progress=progress,
        converge_tol=args.converge_tol,
        **kw,
    )
    summary = res.summary()
    files = []
    if args.out:
        files = ["results.npz", "summary.json"]
        try:
            from .. import plot as _plot_maps
        except ImportError:  # pragma: no cover
            _plot_maps = None
        if _plot_maps is not None and args.inits and len(res.leaf_names) >= 2:
            _plot_maps.basins(res).savefig(os.path.join(args.out, "basins.png"), dpi=110)
            files.append("basins.png")
        if (
            _plot_maps is not None
            and grid
            and np.isfinite(
                np.asarray(res.grid_max_real if not discrete else res.grid_spectral_radius)
            ).any()
        ):
            _plot_maps.stability_region(res).savefig(
                os.path.join(args.out, "stability.png"), dpi=110
            )
            files.append("stability.png")
        summary["out"] = os.path.abspath(args.out)
        summary["files"] = files
        with open(os.path.join(args.out, "summary.json"), "w") as fh:
            json.dump(summary, fh, indent=2)
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


def add_sweep_parser(sub, common):
    sp = sub.add_parser(
        "sweep",
        help="many initial states and/or hyperparameters at once (vmapped, sharded)",
        description="Sweep a grid of hyperparameters x a set of initial states. Grid names: "
        "system parameters (e.g. sigma, scale), eta (GradientPenalty), gamma (R1, gamma/2 "
        "convention), lr (discrete step size, with --steps).",
    )
    common(sp)
    sp.add_argument(
        "--grid",
        action="append",
        metavar="NAME=START:STOP:NUM",
        help="a hyperparameter grid (linspace, or NAME=V1,V2,...); repeatable",
    )
    sp.add_argument(
        "--inits",
        metavar="box:RADIUS:N",
        help="initial states: box:RADIUS:N (uniform around the equilibrium) or "
        "lattice:RADIUS:N (N per coordinate); default: the system's init",
    )
    sp.add_argument(
        "--gamma",
        type=nonneg_float("--gamma"),
        default=0.0,
        help="R1 strength γ when not swept (0 = none)",
    )
    sp.add_argument(
        "--t1",
        type=positive_float("--t1"),
        default=None,
        help="final time (continuous time, default 50)",
    )
    sp.add_argument(
        "--steps",
        type=positive_int("--steps"),
        default=None,
        help="discrete time: simultaneous SGD steps (instead of --t1)",
    )
    sp.add_argument(
        "--lr",
        type=positive_float("--lr"),
        default=0.01,
        help="SGD step size when not swept (with --steps)",
    )
    sp.add_argument("--order", choices=["simultaneous", "alternating"], default="simultaneous")
    sp.add_argument(
        "--rtol", type=positive_float("--rtol"), default=1e-8, help="rtol = atol of the ODE solver"
    )
    sp.add_argument(
        "--converge-tol",
        type=positive_float("--converge-tol"),
        default=1e-6,
        help="a run has converged when |h(y)| falls below this",
    )
    sp.add_argument(
        "--mode",
        choices=["auto", "vmap", "batch"],
        default="auto",
        help="per-trajectory steps (vmap) or one shared step per chunk (batch)",
    )
    sp.add_argument(
        "--chunk", type=positive_int("--chunk"), default=4096, help="runs per chunk (memory bound)"
    )
    sp.add_argument("--seed", type=int, default=0, help="seed of the initial-state sampler")
    sp.add_argument(
        "--out",
        metavar="DIR",
        help="write chunks, manifest.json, results.npz, summary.json and maps",
    )
    sp.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out, skipping its finished chunks",
    )
    sp.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on unless --json)",
    )
    sp.set_defaults(func=cmd_sweep)


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gdgan", description="GAN training dynamics as dynamical systems.", epilog=EPILOG
    )
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    def common(sp, system=True):
        sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        if system:
            sp.add_argument(
                "system", metavar="SYSTEM", help="a built-in system (see `gdgan systems`)"
            )
            sp.add_argument("--loss", help="gan | wgan | nsgan | lsgan | hinge")
            sp.add_argument(
                "--eta",
                type=nonneg_float("--eta"),
                default=0.0,
                help="gradient-penalty strength η (Nagarajan & Kolter); 0 = none",
            )
            sp.add_argument(
                "--param",
                action="append",
                metavar="K=V",
                help="system parameter, e.g. sigma=2 (repeatable)",
            )

    sp = sub.add_parser("systems", help="list the built-in systems and their parameters")
    common(sp, system=False)
    sp.set_defaults(func=cmd_systems)

    sp = sub.add_parser("spectrum", help="exact Jacobian spectrum and stability verdict")
    common(sp)
    sp.add_argument(
        "--at",
        choices=["equilibrium", "init"],
        default="equilibrium",
        help="where to linearise (default: the known equilibrium)",
    )
    sp.add_argument(
        "--tol", type=nonneg_float("--tol"), default=1e-9, help="|Re λ| <= tol counts as marginal"
    )
    sp.add_argument("--show", type=int, default=12, help="eigenvalues to print in the table")
    sp.add_argument("--max-dense", type=int, default=8000, help="largest n for a dense Jacobian")
    sp.add_argument(
        "--matrix-free",
        action="store_true",
        help="k rightmost eigenvalues from JVPs only (no dense Jacobian, no n limit)",
    )
    sp.add_argument("--k", type=int, default=6, help="eigenvalues wanted with --matrix-free")
    sp.add_argument(
        "--mf-tol",
        type=float,
        default=1e-10,
        help="matrix-free residual tolerance relative to ||J||",
    )
    sp.add_argument(
        "--stable-step",
        action="store_true",
        help="with --matrix-free, also estimate the largest stable step",
    )
    sp.set_defaults(func=cmd_spectrum)

    sp = sub.add_parser("bench", help="benchmarks: dense Jacobian (jacobian) or eigenvalues (eig)")
    sp.add_argument("name", choices=["jacobian", "eig"], help="what to benchmark")
    sp.add_argument("--sizes", type=int, nargs="+", help="parameter counts n (small default)")
    sp.add_argument("--mf-sizes", nargs="*", help="eig: matrix-free-only sizes or 'preset'")
    sp.add_argument("--repeats", type=int, default=1)
    sp.add_argument("--timeout", type=int, default=600, help="seconds per measurement")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("table", help="stability table of every built-in system (the demo)")
    common(sp, system=False)
    sp.add_argument(
        "--eta",
        type=nonneg_float("--eta"),
        nargs="+",
        default=[0.0, 0.5],
        help="penalty strengths to tabulate",
    )
    sp.set_defaults(func=cmd_table)

    def evolution(sp):
        sp.add_argument(
            "--y0",
            action="append",
            metavar="K=V",
            help="set a leaf of the initial state by name, e.g. a=1.5 (repeatable)",
        )
        sp.add_argument(
            "--out", metavar="DIR", help="write trajectory.npz, summary.json and figures to DIR"
        )
        sp.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="progress bar on stderr (default: when stderr is a terminal and not --json)",
        )

    sp = sub.add_parser("simulate", help="integrate the gradient flow (diffrax) and classify it")
    common(sp)
    evolution(sp)
    sp.add_argument("--t1", type=positive_float("--t1"), default=100.0, help="final time")
    sp.add_argument("--rtol", type=positive_float("--rtol"), default=1e-10)
    sp.add_argument("--atol", type=positive_float("--atol"), default=1e-10)
    sp.add_argument("--max-steps", type=positive_int("--max-steps"), default=1_000_000)
    sp.add_argument(
        "--n-save", type=positive_int("--n-save"), default=2001, help="saved time points"
    )
    sp.set_defaults(func=cmd_simulate)

    sp = sub.add_parser("train", help="discrete training with optax (SGD, momentum, Adam, ...)")
    common(sp)
    evolution(sp)
    sp.add_argument(
        "--optimizer",
        choices=["sgd", "momentum", "adam", "optimistic", "extragradient"],
        default="sgd",
    )
    sp.add_argument("--lr", type=positive_float("--lr"), default=0.01, help="learning rate")
    sp.add_argument("--steps", type=positive_int("--steps"), default=5000)
    sp.add_argument("--order", choices=["simultaneous", "alternating"], default="simultaneous")
    sp.add_argument(
        "--disc-steps",
        type=positive_int("--disc-steps"),
        default=1,
        help="discriminator steps per generator step (alternating)",
    )
    sp.add_argument(
        "--batch",
        type=positive_int("--batch"),
        default=None,
        help="fresh minibatches of this size (default: exact expectation)",
    )
    sp.add_argument(
        "--unbiased-penalty",
        action="store_true",
        help="with --batch and --eta: the unbiased minibatch estimate of the penalty "
        "(the plug-in one is biased by tr Σ_D / b)",
    )
    sp.add_argument("--seed", type=int, default=0, help="minibatch PRNG seed")
    sp.add_argument(
        "--stride",
        type=positive_int("--stride"),
        default=None,
        help="keep every k-th iterate (default: steps // 1000)",
    )
    sp.add_argument("--momentum", type=nonneg_float("--momentum"), default=0.9)
    sp.add_argument(
        "--beta1",
        type=nonneg_float("--beta1"),
        default=0.5,
        help="Adam's beta1 (the authors use 0.5)",
    )
    sp.set_defaults(func=cmd_train)
    sp = sub.add_parser("reproduce", help="reproduce the papers' claims: figures and a report")
    sp.add_argument("name", metavar="NAME", help="a reproduction name or 'all'")
    sp.add_argument("--out", default="gdgan-out", help="output directory (default gdgan-out)")
    sp.add_argument("--quick", action="store_true", help="small configurations (minutes)")
    sp.add_argument(
        "--jobs",
        type=positive_int("--jobs"),
        default=1,
        help="run up to this many reproductions at once in separate processes",
    )
    sp.add_argument(
        "--resume",
        action="store_true",
        help="reuse sections already finished in --out (same --quick setting)",
    )
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=cmd_reproduce)
    add_sweep_parser(sub, common)
    return p


def main(argv=None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        _enable_x64()
        args.func(args)
    except (CLIError, ValueError, TypeError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"gdgan: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gdgan: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
