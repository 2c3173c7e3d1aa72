"""`gdgan systems`, `gdgan spectrum`, `gdgan table`: analysis at a point."""

from __future__ import annotations

import numpy as np

from ._common import (
    CLIError,
    add_json,
    add_system,
    build_system,
    emit,
    nonnegative,
    nonnegative_int,
    number,
    only_with,
    parse_params,
    positive_int,
    regularizers_from,
)


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


def _pairs(eig):
    return [[float(e.real) + 0.0, float(e.imag) + 0.0] for e in np.asarray(eig)]


def cmd_spectrum(args):
    from .._analysis import stability

    for flag in ("--k", "--mf-tol", "--stable-step"):
        only_with(args, flag, args.matrix_free, "with --matrix-free", "without --matrix-free")
    only_with(
        args, "--max-dense", not args.matrix_free, "without --matrix-free", "with --matrix-free"
    )
    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    at_eq = args.at == "equilibrium" and sys_.equilibrium is not None
    y = sys_.equilibrium if at_eq else sys_.init
    where = "equilibrium" if at_eq else "init"
    if args.matrix_free:
        return _spectrum_matrix_free(args, sys_, y, where)
    max_dense = 8000 if args.max_dense is None else args.max_dense
    if sys_.n > max_dense:
        raise CLIError(
            f"--max-dense: expected n <= {max_dense} for a dense Jacobian, got {args.system} "
            f"with n = {sys_.n}; use --matrix-free, or shrink it with --param width=..."
        )
    rep = stability(sys_.field(*regularizers_from(args)), y, tol=args.tol)
    eig = np.asarray(rep.eigenvalues)
    out = {
        "system": args.system,
        "n": int(sys_.n),
        "at": where,
        "method": "dense",
        "eigenvalues": _pairs(eig),
        "verdict": str(rep.verdict_name),
        "max_real": float(np.max(eig.real)),
        "max_stable_step": float(rep.max_stable_step),
        "residuals": None,
        "converged": True,
        "n_matvecs": None,
    }
    _print(args, out, f"at the {_where(where, sys_)}")


def _where(where, sys_):
    if where == "equilibrium":
        return "equilibrium"
    return "initial state" + (" (no known equilibrium)" if sys_.equilibrium is None else "")


def _print(args, out, head):
    step = out["max_stable_step"]
    lines = [
        f"{args.system}: n = {out['n']}, {head}",
        f"verdict: {out['verdict']}   max Re λ = {out['max_real']:.6g}   max stable step = "
        + ("not computed (--stable-step)" if step is None else f"{step:.6g}"),
        "eigenvalues (largest real part first):",
    ]
    res = out["residuals"] or [None] * len(out["eigenvalues"])
    lines += [
        f"  {re:+.8f} {im:+.8f}i" + ("" if r is None else f"   (residual {r:.1e})")
        for (re, im), r in list(zip(out["eigenvalues"], res))[: args.show]
    ]
    if len(out["eigenvalues"]) > args.show:
        lines.append(f"  ... {len(out['eigenvalues']) - args.show} more")
    if not out["converged"]:
        lines.append("warning: not every eigenvalue converged; raise --k or check residuals")
    emit(out, args.json, "\n".join(lines))


def _spectrum_matrix_free(args, sys_, y, where):
    from .._analysis import Verdict, verdict_from_max_real
    from .._results import enum_name
    from .._spectra import max_stable_step, rightmost_eigenvalues

    k = 6 if args.k is None else args.k
    if k > sys_.n:
        raise CLIError(f"--k: expected an integer in [1, n = {sys_.n}], got {k}")
    mf_tol = 1e-10 if args.mf_tol is None else args.mf_tol
    field = sys_.field(*regularizers_from(args))
    res = rightmost_eigenvalues(field, y, k, tol=mf_tol)
    max_real = res.max_real
    verdict = verdict_from_max_real(max_real, args.tol)
    step = None
    if verdict != Verdict.stable:
        step = 0.0
    elif args.stable_step:
        step = float(max_stable_step(field, y, tol=mf_tol, margin=args.tol))
    out = {
        "system": args.system,
        "n": int(sys_.n),
        "at": where,
        "method": str(res.method),
        "eigenvalues": _pairs(res.eigenvalues),
        "verdict": str(enum_name(Verdict, verdict)),
        "max_real": float(max_real),
        "max_stable_step": step,
        "residuals": [float(r) for r in res.residuals],
        "converged": bool(res.all_converged),
        "n_matvecs": int(res.n_matvecs),
    }
    _print(args, out, f"at the {_where(where, sys_)} (matrix-free, {res.n_matvecs} JVPs)")


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
        f"{r['system']:<14}{str(r['loss']):<7}{r['eta']:>6g}  {r['verdict']:<9}"
        f"{r['max_real']:>14.6g}{r['max_stable_step']:>12.4g}"
        for r in rows
    ]
    emit({"rows": rows}, args.json, "\n".join(lines))


def register(sub):
    sp = sub.add_parser("systems", help="list the built-in systems and their parameters")
    add_json(sp)
    sp.set_defaults(func=cmd_systems)

    sp = sub.add_parser(
        "spectrum",
        help="Jacobian spectrum and stability verdict",
        description="Eigenvalues of the Jacobian of the (regularised) vector field at the "
        "system's equilibrium: dense (exact, n <= --max-dense) or --matrix-free (the k "
        "rightmost, from JVPs).",
    )
    add_system(sp)
    add_json(sp)
    sp.add_argument(
        "--at",
        choices=["equilibrium", "init"],
        default="equilibrium",
        help="where to linearise (the initial state when no equilibrium is known)",
    )
    sp.add_argument(
        "--tol", type=nonnegative("--tol"), default=1e-9, help="|Re λ| <= tol counts as marginal"
    )
    sp.add_argument(
        "--show", type=nonnegative_int("--show"), default=12, help="eigenvalues to print"
    )
    sp.add_argument(
        "--max-dense",
        type=positive_int("--max-dense"),
        default=None,
        help="largest n for a dense Jacobian (default: 8000; not with --matrix-free)",
    )
    sp.add_argument(
        "--matrix-free",
        action="store_true",
        help="k rightmost eigenvalues from JVPs only (no dense Jacobian, no n limit)",
    )
    sp.add_argument(
        "--k",
        type=positive_int("--k"),
        default=None,
        help="eigenvalues wanted (default: 6; only with --matrix-free)",
    )
    sp.add_argument(
        "--mf-tol",
        type=number("--mf-tol", float, 0, True, 1, True),
        default=None,
        help="residual tolerance relative to ||J|| (default: 1e-10; only with --matrix-free)",
    )
    sp.add_argument(
        "--stable-step",
        action="store_true",
        help="also estimate the largest stable step (only with --matrix-free; the dense "
        "path always reports it)",
    )
    sp.set_defaults(func=cmd_spectrum)

    sp = sub.add_parser(
        "table",
        help="stability table of every built-in system (the demo)",
        description="Verdicts at each built-in system's equilibrium for each loss and each "
        "penalty strength. Exception to the one-meaning rule: here --eta takes a list.",
    )
    add_json(sp)
    sp.add_argument(
        "--eta",
        type=nonnegative("--eta"),
        nargs="+",
        default=[0.0, 0.5],
        help="penalty strengths η to tabulate (a list here, one number elsewhere)",
    )
    sp.set_defaults(func=cmd_table)
