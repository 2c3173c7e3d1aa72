"""`gdgan continue` (equilibrium branches and their bifurcations in a parameter) and
`gdgan orbit` (a periodic orbit and its Floquet multipliers)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._common import (
    CLIError,
    add_json,
    build_system,
    default,
    emit,
    num,
    number,
    only_with,
    parse_params,
    parse_value,
    positive,
    positive_int,
    require_extra,
)

STEP_NAMES = ("lr", "alpha")  # a range on one of these continues the update map in the step
MAX_DENSE = 2000  # larger systems need --matrix-free


def _add_system(sp):
    sp.add_argument("system", metavar="SYSTEM", help="a built-in system (see `gdgan systems`)")
    sp.add_argument(
        "--loss", help="gan | wgan | nsgan | lsgan | hinge (default: the system's own loss)"
    )
    sp.add_argument(
        "--eta",
        type=number("--eta"),
        default=0.0,
        help="gradient-penalty strength η (Nagarajan & Kolter 2017); a negative η continues "
        "the penalty linearly (the generator ascends the discriminator's gradient norm)",
    )
    sp.add_argument("--out", metavar="DIR", help="write the figure (PNG) into DIR")
    add_json(sp)


def _penalised(sys_, eta):
    """The system's field with the (signed) gradient penalty η."""
    from .._continuation import AffineFamily
    from .._regularizers import GradientPenalty

    if eta == 0:
        return sys_.field()
    return AffineFamily(sys_.field(), sys_.field(GradientPenalty(1.0)))(eta)


def _split_params(items):
    """`--param` items: exactly one `K=A:B` range, the rest fixed `K=V`."""
    fixed, ranges = [], []
    for item in items or []:
        key, sep, value = item.partition("=")
        if sep and ":" in value:
            lo, _, hi = value.partition(":")
            vals = [parse_value(lo), parse_value(hi)]
            if any(isinstance(v, str) or not math.isfinite(v) for v in vals) or not key:
                raise CLIError(f"--param: expected K=A:B with finite numbers A != B, got {item!r}")
            ranges.append((key, float(vals[0]), float(vals[1])))
        else:
            fixed.append(item)
    if len(ranges) != 1:
        raise CLIError(
            "--param: expected exactly one range K=A:B (e.g. eta=0:2, sigma=0.5:2 or "
            f"lr=0.01:1), got {len(ranges)}"
        )
    key, a, b = ranges[0]
    if a == b:
        raise CLIError(f"--param: expected a range K=A:B with A != B, got {key}={a:g}:{b:g}")
    return key, a, b, parse_params(fixed)


def _point(b):
    return {
        "kind": b.kind,
        "p": num(b.p),
        "frequency": num(b.frequency),
        "eigenvalue": [num(np.real(b.eigenvalue)), num(np.imag(b.eigenvalue))],
    }


def _stable_intervals(br):
    """The parameter intervals [lo, hi] of consecutive stable points."""
    out, start = [], None
    for i, s in enumerate(np.asarray(br.stable)):
        if s and start is None:
            start = i
        if start is not None and (not s or i == len(br.p) - 1):
            end = i if s else i - 1
            seg = br.p[start : end + 1]
            out.append([num(np.min(seg)), num(np.max(seg))])
            start = None
    return out


def cmd_continue(args):
    from .. import systems
    from .._continuation import AffineFamily, continuation, continuation_discrete
    from .._regularizers import GradientPenalty

    key, a, b, fixed = _split_params(args.param)
    if args.out is not None:
        require_extra("matplotlib")
    name = args.system
    base = build_system(name, args.loss, fixed)  # validates SYSTEM, --loss and the fixed K=V
    params = {**fixed, **({} if args.loss is None else {"loss": args.loss})}
    allowed = systems.parameters(name)
    if key in STEP_NAMES:
        if a <= 0 or b <= 0:
            raise CLIError(f"--param: expected positive step sizes for {key}, got {a:g}:{b:g}")
        y_star = base.equilibrium
        if y_star is None:
            raise CLIError(f"system: expected one with a known equilibrium for {key}, got {name!r}")
        br = continuation_discrete(
            _penalised(base, args.eta),
            y_star,
            a,
            b,
            method=args.method,
            order=args.order,
            n_points=args.n_points,
        )
        time_kind = "discrete"
    else:
        if key == "eta":
            if args.eta != 0:
                raise CLIError(
                    "--eta: expected it only when eta is not the continued parameter, "
                    f"got --eta {args.eta:g} with --param eta={a:g}:{b:g}"
                )

            field_of = AffineFamily(base.field(), base.field(GradientPenalty(1.0)))

            y0 = base.equilibrium if base.equilibrium is not None else base.init
        elif key in allowed and key != "loss":

            def field_of(p):
                return _penalised(systems.get(name, **{**params, key: p}), args.eta)

            start = systems.get(name, **{**params, key: a})
            y0 = start.equilibrium if start.equilibrium is not None else start.init
        else:
            choices = ["eta", *STEP_NAMES, *[k for k in allowed if k != "loss"]]
            raise CLIError(f"--param: expected a range on one of {choices}, got {key!r}")
        if base.n > MAX_DENSE and not args.matrix_free:
            raise CLIError(
                f"--matrix-free: expected it for n > {MAX_DENSE} (a dense Jacobian per "
                f"point), got {name} with n = {base.n}"
            )
        if args.matrix_free and args.k > base.n:
            raise CLIError(f"--k: expected an integer in [1, n = {base.n}], got {args.k}")
        br = continuation(
            field_of,
            y0,
            a,
            b,
            max_points=args.max_points,
            ds=args.ds,
            matrix_free=args.matrix_free,
            k=args.k,
        )
        time_kind = "continuous"
    figure = None
    if args.out is not None:
        from ..plot import bifurcation_diagram

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        fig = bifurcation_diagram(br, parameter=key)
        figure = str(out / f"continue_{name}_{key}.png")
        fig.savefig(figure, dpi=110)
    result = {
        "system": name,
        "parameter": key,
        "range": [a, b],
        "time": time_kind,
        "status": br.status,
        "n_points": int(len(br.p)),
        "points": [_point(p) for p in br.points],
        "stable_intervals": _stable_intervals(br),
        "max_real" if time_kind == "continuous" else "spectral_radius": [
            num(x) for x in br.max_real
        ],
        "p": [num(x) for x in br.p],
        "figure": figure,
    }
    lines = [
        f"{name}: {'update map' if time_kind == 'discrete' else 'equilibrium branch'} in {key} "
        f"from {a:g} to {b:g}: {len(br.p)} points, {br.status.replace('_', ' ')}",
        "stable for "
        + (
            ", ".join(f"{key} in [{lo:.6g}, {hi:.6g}]" for lo, hi in result["stable_intervals"])
            or "no point"
        ),
    ]
    if br.points:
        lines.append("bifurcation points:")
        lines += [
            f"  {p.kind:<15} {key} = {p.p:.10g}"
            + (f"   frequency {p.frequency:.8g}" if p.frequency else "")
            for p in br.points
        ]
    else:
        lines.append("no bifurcation point in the range")
    if figure:
        lines.append(f"figure: {figure}")
    emit(result, args.json, "\n".join(lines))


def cmd_orbit(args):
    import jax

    from .._periodic import estimate_period, periodic_orbit

    if args.out is not None:
        require_extra("matplotlib")
    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    field = _penalised(sys_, args.eta)
    guess = estimate_period(
        field, sys_.init, args.window, transient=args.transient, n_save=args.n_save
    )
    period = args.period if args.period is not None else guess.period
    result = {
        "system": args.system,
        "eta": args.eta,
        "period_guess": num(guess.period),
        "returns": int(guess.returns),
    }
    if not (period is not None and math.isfinite(period) and period > 0):
        result.update(
            status="no_return",
            converged=False,
            period=None,
            multipliers=[],
            isolated=None,
            stable=None,
            residual=None,
            y0=None,
            figure=None,
        )
        text = (
            f"{args.system}: no periodic orbit to shoot from: the trajectory did not come "
            f"back near its end point within the window ({args.window:g} after "
            f"{args.transient:g}); it settles, drifts or is aperiodic (try --window, "
            "--transient or --period)"
        )
        return emit(result, args.json, text)
    orb = periodic_orbit(field, guess.y, float(period))
    mu = np.asarray(orb.floquet_multipliers)
    from .._tree import leaf_names

    names = leaf_names(orb.y0)
    leaves = jax.tree_util.tree_leaves(orb.y0)
    state = {n: num(np.asarray(x).reshape(-1)[0]) for n, x in zip(names, leaves) if np.size(x) == 1}
    figure = None
    if args.out is not None and orb.converged:
        from ..plot import periodic_orbit as plot_orbit

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        figure = str(out / f"orbit_{args.system}.png")
        plot_orbit(orb, field).savefig(figure, dpi=110)
    result.update(
        status=str(orb.result_name),
        converged=bool(orb.converged),
        period=num(orb.period),
        multipliers=[[num(m.real), num(m.imag)] for m in mu],
        isolated=bool(orb.isolated),
        stable=bool(orb.stable),
        residual=num(orb.residual),
        y0=state or None,
        figure=figure,
    )
    if orb.converged:
        kind = (
            "an attracting limit cycle"
            if orb.stable
            else "an unstable limit cycle"
            if orb.isolated
            else "a neutral family of orbits (a centre: two multipliers at 1)"
        )
    else:
        kind = f"not found: {orb.message}"
    lines = [
        f"{args.system}: periodic orbit {kind}",
        f"period {float(orb.period):.10g}   residual {float(orb.residual):.2e}",
        "Floquet multipliers (largest modulus first):",
    ] + [f"  {m.real:+.8f} {m.imag:+.8f}i   |μ| = {abs(m):.6g}" for m in mu]
    if figure:
        lines.append(f"figure: {figure}")
    emit(result, args.json, "\n".join(lines))


def register(sub):
    sp = sub.add_parser(
        "continue",
        help="continue an equilibrium in a parameter: folds, Hopf points, step-size limits",
        description="Pseudo-arclength continuation of the system's equilibrium in one "
        "parameter (--param K=A:B: eta, a system parameter such as sigma), with its folds and "
        "Hopf points; or, with --param lr=A:B, the multipliers of a training rule's update map "
        "as the step grows (flip and Neimark-Sacker points).",
    )
    _add_system(sp)
    sp.add_argument(
        "--param",
        action="append",
        metavar="K=V|K=A:B",
        help="one range K=A:B to continue (eta, lr, or a system parameter), and fixed system "
        "parameters K=V (repeatable)",
    )
    sp.add_argument(
        "--max-points",
        type=positive_int("--max-points"),
        default=None,
        help="most points on the branch (default: 200; not with lr=A:B)",
    )
    sp.add_argument(
        "--ds",
        type=positive("--ds"),
        default=None,
        help="initial arclength step (default: |B - A|/50; not with lr=A:B)",
    )
    sp.add_argument(
        "--matrix-free",
        action="store_true",
        help=f"track only the --k rightmost eigenvalues (JVPs, GMRES); needed for n > {MAX_DENSE}",
    )
    sp.add_argument(
        "--k",
        type=positive_int("--k"),
        default=None,
        help="eigenvalues tracked with --matrix-free (default: 6)",
    )
    sp.add_argument(
        "--method",
        choices=["gd", "optimistic", "extragradient"],
        default=None,
        help="training rule for --param lr=A:B (default: gd)",
    )
    sp.add_argument(
        "--order",
        choices=["simultaneous", "alternating"],
        default=None,
        help="player order for --param lr=A:B (default: simultaneous)",
    )
    sp.add_argument(
        "--n-points",
        type=number("--n-points", int, 2),
        default=None,
        help="step sizes on the grid for --param lr=A:B (default: 64)",
    )
    sp.set_defaults(func=_continue_defaults)

    sp = sub.add_parser(
        "orbit",
        help="a periodic orbit by shooting, with its Floquet multipliers",
        description="Simulate from the system's initial state for --transient, take the last "
        "return time in --window as the period guess, and solve for the periodic orbit by "
        "single shooting; report the Floquet multipliers (isolated limit cycle or neutral "
        "family).",
    )
    _add_system(sp)
    sp.add_argument("--param", action="append", metavar="K=V", help="system parameter (repeatable)")
    sp.add_argument(
        "--transient",
        type=number("--transient", float, 0),
        default=100.0,
        help="time simulated before the window",
    )
    sp.add_argument(
        "--window",
        type=positive("--window"),
        default=100.0,
        help="time in which the return is looked for",
    )
    sp.add_argument(
        "--n-save", type=number("--n-save", int, 4), default=4001, help="samples in the window"
    )
    sp.add_argument(
        "--period",
        type=positive("--period"),
        default=None,
        help="period guess (default: from the window)",
    )
    sp.set_defaults(func=cmd_orbit)


def _continue_defaults(args):
    if args.param is None:
        raise CLIError("--param: expected one range K=A:B (e.g. eta=0:2), got none")
    key = next((i.partition("=")[0] for i in args.param if ":" in i.partition("=")[2]), None)
    step = key in STEP_NAMES
    for flag in ("--method", "--order", "--n-points"):
        only_with(args, flag, step, "with --param lr=A:B", f"with --param {key}=A:B")
    for flag in ("--max-points", "--ds", "--matrix-free"):
        only_with(args, flag, not step, "without --param lr=A:B", f"with --param {key}=A:B")
    only_with(args, "--k", args.matrix_free, "with --matrix-free", "without --matrix-free")
    default(args, "method", "gd")
    default(args, "order", "simultaneous")
    default(args, "n_points", 64)
    default(args, "max_points", 200)
    default(args, "k", 6)
    cmd_continue(args)
