"""`gdgan simulate` (the gradient flow, diffrax) and `gdgan train` (optax steps)."""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np

from .._tree import leaf_names
from ._common import (
    CLIError,
    add_json,
    add_progress,
    add_system,
    build_system,
    check_out,
    default,
    emit,
    num,
    number,
    only_with,
    parse_params,
    positive,
    positive_int,
    progress,
    regularizers_from,
    require_extra,
    seed,
)

#: The API's defaults (`gdgan.simulate`, `gdgan.train`), repeated here for --help only.
T1 = 100.0
CONVERGE_TOL = 1e-8
MAX_STEPS = 100_000
N_SAVE = 1001


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
            raise CLIError(f"--y0: expected a leaf of the state {names}, got {key!r}")
        if len(hits) > 1:
            raise CLIError(f"--y0: expected one of {[names[i] for i in hits]}, got {key!r}")
        leaves[hits[0]] = jnp.full_like(jnp.asarray(leaves[hits[0]], float), value)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _state_dict(y, max_leaves=16):
    import jax

    names, leaves = leaf_names(y), jax.tree_util.tree_leaves(y)
    if len(leaves) > max_leaves or any(np.size(x) != 1 for x in leaves):
        return None
    return {n: float(np.asarray(x)) for n, x in zip(names, leaves)}


def _history_arrays(ts, ys):
    import jax

    arrays = {"ts": np.asarray(ts)}
    for name, leaf in zip(leaf_names(ys), jax.tree_util.tree_leaves(ys)):
        arrays[name] = np.asarray(leaf)
    return arrays


def _write_outputs(args, sys_, field, result, summary, arrays):
    """trajectory.npz, summary.json, phase.png (2-parameter systems), timeseries.png."""
    from .. import plot
    from ._common import dumps

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
        fh.write(json.dumps(json.loads(dumps(summary)), indent=2))


def cmd_simulate(args):
    import jax

    from .._simulate import simulate

    if args.out:
        require_extra("matplotlib")
        check_out("--out", args.out, create=True)
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
        converge_tol=args.converge_tol,
        throw=False,
        progress=progress(args),
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
        "final_distance": num(out.distance),
        "residual": num(out.residual),
        "t_final": num(out.t_final),
        "steps": int(out.steps),
        "conserved_drift": num(out.conserved_drift),
        "amplitude_ratio": num(out.amplitude_ratio),
        "wall_time_s": wall,
    }
    if args.out:
        arrays = _history_arrays(out.ts, out.ys)
        arrays["outcome"] = np.array(summary["outcome"])
        _write_outputs(args, sys_, field, out, summary, arrays)
    fd, res, tf = summary["final_distance"], summary["residual"], summary["t_final"]
    text = (
        f"{args.system}: {summary['outcome']} — {summary['message']}\n"
        f"t_final = {tf if tf is None else f'{tf:.6g}'}, steps = {summary['steps']}, "
        f"final distance to equilibrium = {'n/a' if fd is None else f'{fd:.3e}'}, "
        f"‖h‖ = {'n/a' if res is None else f'{res:.3e}'}, wall time = {wall:.2f} s"
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
    import jax

    from .._train import train

    eta_batch = args.eta > 0 and args.batch is not None
    only_with(
        args,
        "--unbiased-penalty",
        eta_batch,
        "with --eta > 0 and --batch",
        "without" + (" --batch" if args.batch is None else " --eta > 0"),
    )
    only_with(args, "--seed", args.batch is not None, "with --batch", "without --batch")
    only_with(
        args,
        "--momentum",
        args.optimizer == "momentum",
        "with --optimizer momentum",
        f"with --optimizer {args.optimizer}",
    )
    only_with(
        args,
        "--beta1",
        args.optimizer == "adam",
        "with --optimizer adam",
        f"with --optimizer {args.optimizer}",
    )
    only_with(
        args,
        "--disc-steps",
        args.order == "alternating",
        "with --order alternating",
        f"with --order {args.order}",
    )
    default(args, "seed", 0)
    default(args, "momentum", 0.9)
    default(args, "beta1", 0.5)
    default(args, "disc_steps", 1)
    if args.out:
        require_extra("matplotlib")
        check_out("--out", args.out, create=True)
    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    regs = regularizers_from(args)
    y0 = set_leaves(sys_.init, args.y0)
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
        key=None if args.batch is None else jax.random.PRNGKey(args.seed),
        stride=stride,
        y_star=sys_.equilibrium,
        converge_tol=args.converge_tol,
        progress=progress(args),
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
        "final_distance": num(out.distance),
        "residual": num(out.residual),
        "final_grad_norm_disc": num(out.grad_norm_disc[-1]),
        "final_grad_norm_gen": num(out.grad_norm_gen[-1]),
        "final_value": num(out.value[-1]),
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
    fd, res = summary["final_distance"], summary["residual"]
    text = (
        f"{args.system}: {args.optimizer} (lr {args.lr:g}, {args.order}) for {args.steps} steps:"
        f" {summary['outcome']}\nfinal distance to equilibrium = "
        f"{'n/a' if fd is None else f'{fd:.3e}'}, ‖h‖ = {'n/a' if res is None else f'{res:.3e}'}"
        f", wall time = {wall:.2f} s"
        + (f"\nwrote {', '.join(summary['files'])} to {summary['out']}" if args.out else "")
    )
    emit(summary, args.json, text)


def _evolution(sp):
    add_system(sp)
    add_json(sp)
    sp.add_argument(
        "--y0",
        action="append",
        metavar="K=V",
        help="set a leaf of the initial state by name, e.g. a=1.5 (repeatable; default: the "
        "system's init)",
    )
    sp.add_argument(
        "--out",
        metavar="DIR",
        help="write trajectory.npz, summary.json and figures to DIR (figures need gdgan[plot]; default: none)",
    )
    sp.add_argument(
        "--converge-tol",
        type=positive("--converge-tol"),
        default=CONVERGE_TOL,
        help="converged when ‖h(y)‖ falls below this (the API's converge_tol)",
    )
    add_progress(sp)


def register(sub):
    sp = sub.add_parser(
        "simulate",
        help="integrate the gradient flow (diffrax) and classify it",
        description="Integrate y' = h(y) from the system's initial state with diffrax "
        "(Dopri8 and a PID controller) and classify the run: converged, cycling, diverged, "
        "... The defaults are gdgan.simulate's.",
    )
    _evolution(sp)
    sp.add_argument("--t1", type=positive("--t1"), default=T1, help="final time")
    sp.add_argument(
        "--rtol",
        type=number("--rtol", float, 0, True, 1, True),
        default=None,
        help="relative tolerance of the ODE solver (default: the API's, 1e-10 in float64)",
    )
    sp.add_argument(
        "--atol",
        type=positive("--atol"),
        default=None,
        help="absolute tolerance of the ODE solver (default: the API's, 1e-10 in float64)",
    )
    sp.add_argument(
        "--max-steps", type=number("--max-steps", int, 4), default=MAX_STEPS, help="solver steps"
    )
    sp.add_argument(
        "--n-save", type=number("--n-save", int, 4), default=N_SAVE, help="saved time points"
    )
    sp.set_defaults(func=cmd_simulate)

    sp = sub.add_parser(
        "train",
        help="discrete training with optax (SGD, momentum, Adam, ...)",
        description="Train both players with optax steps; with --batch on fresh minibatches.",
    )
    _evolution(sp)
    sp.add_argument(
        "--optimizer",
        choices=["sgd", "momentum", "adam", "optimistic", "extragradient"],
        default="sgd",
        help="the optax update rule",
    )
    sp.add_argument("--lr", type=positive("--lr"), default=0.01, help="learning rate")
    sp.add_argument("--steps", type=positive_int("--steps"), default=5000, help="updates")
    sp.add_argument(
        "--order",
        choices=["simultaneous", "alternating"],
        default="simultaneous",
        help="both players from the same iterate, or D then G",
    )
    sp.add_argument(
        "--disc-steps",
        type=positive_int("--disc-steps"),
        default=None,
        help="discriminator steps per generator step (default: 1; only with --order alternating)",
    )
    sp.add_argument(
        "--batch",
        type=positive_int("--batch"),
        default=None,
        help="fresh minibatches of this size (default: the exact expectation)",
    )
    sp.add_argument(
        "--unbiased-penalty",
        action="store_true",
        help="the unbiased minibatch estimate of the penalty (the plug-in one is biased by "
        "tr Σ_D / b); only with --batch and --eta > 0",
    )
    sp.add_argument(
        "--seed",
        type=seed(),
        default=None,
        help="seed of jax.random.PRNGKey for the minibatches (default: 0; only with --batch)",
    )
    sp.add_argument(
        "--stride",
        type=positive_int("--stride"),
        default=None,
        help="keep every k-th iterate (default: max(1, steps // 1000))",
    )
    sp.add_argument(
        "--momentum",
        type=number("--momentum", float, 0, False, 1, True),
        default=None,
        help="momentum (default: 0.9; only with --optimizer momentum)",
    )
    sp.add_argument(
        "--beta1",
        type=number("--beta1", float, 0, False, 1, True),
        default=None,
        help="Adam's beta1 (default: 0.5, the authors' choice; only with --optimizer adam)",
    )
    sp.set_defaults(func=cmd_train)
