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
            raise argparse.ArgumentTypeError(f"{flag}: expected a non-negative number, got {text!r}") from None
        if not value >= 0 or math.isinf(value):
            raise argparse.ArgumentTypeError(f"{flag}: expected a non-negative number, got {text!r}")
        return value

    return parse


def build_system(name: str, loss: str | None, params: dict):
    from . import systems

    if name not in systems.REGISTRY:
        raise CLIError(f"system: expected one of {systems.names()}, got {name!r}")
    if loss is not None:
        if "loss" not in systems.parameters(name):
            raise CLIError(f"--loss: system {name!r} has a fixed objective; omit --loss")
        params = {**params, "loss": loss}
    return systems.get(name, **params)


def regularizers_from(args):
    from ._regularizers import GradientPenalty

    return [GradientPenalty(args.eta)] if getattr(args, "eta", 0.0) else []


def emit(obj, as_json: bool, text: str):
    print(json.dumps(obj) if as_json else text)


# ---------------------------------------------------------------------------------------
def cmd_systems(args):
    from . import systems

    rows = [
        {"name": name, "params": systems.parameters(name), "description": systems.get(name).description}
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
        "eigenvalues": [[float(e.real), float(e.imag)] for e in eig],
        "verdict": str(rep.verdict_name),
        "max_real": float(np.max(eig.real)),
        "max_stable_step": float(rep.max_stable_step),
    }


def cmd_spectrum(args):
    from ._analysis import stability

    sys_ = build_system(args.system, args.loss, parse_params(args.param))
    y = sys_.equilibrium if (args.at == "equilibrium" and sys_.equilibrium is not None) else sys_.init
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


def stability_table(etas=(0.0, 0.5), losses=("gan", "wgan", "nsgan")):
    """Rows of verdicts for every built-in system with a known equilibrium × loss × η."""
    from . import systems
    from ._analysis import stability
    from ._regularizers import GradientPenalty

    rows = []
    for name in systems.names():
        sys_losses = losses if "loss" in systems.parameters(name) else (None,)
        for loss in sys_losses:
            s = systems.get(name, **({} if loss is None else {"loss": loss}))
            if s.equilibrium is None:
                continue
            for eta in etas:
                regs = [GradientPenalty(eta)] if eta else []
                rep = stability(s.field(*regs), s.equilibrium)
                row = spectrum_dict(name, rep, s.n)
                rows.append({"system": name, "loss": loss or "-", "eta": eta,
                             "verdict": row["verdict"], "max_real": row["max_real"],
                             "max_stable_step": row["max_stable_step"]})
    return rows


def cmd_table(args):
    rows = stability_table(tuple(args.eta))
    head = f"{'system':<14}{'loss':<7}{'eta':>6}  {'verdict':<9}{'max Re λ':>14}{'max step':>12}"
    lines = ["Local stability at each built-in system's equilibrium, without and with the "
             "gradient penalty (Nagarajan & Kolter 2017)", head, "-" * len(head)]
    lines += [
        f"{r['system']:<14}{r['loss']:<7}{r['eta']:>6g}  {r['verdict']:<9}"
        f"{r['max_real']:>14.6g}{r['max_stable_step']:>12.4g}"
        for r in rows
    ]
    emit({"rows": rows}, args.json, "\n".join(lines))


# ---------------------------------------------------------------------------------------
def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gdgan", description="GAN training dynamics as dynamical systems.",
                epilog=EPILOG)
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    def common(sp, system=True):
        sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        if system:
            sp.add_argument("system", metavar="SYSTEM", help="a built-in system (see `gdgan systems`)")
            sp.add_argument("--loss", help="gan | wgan | nsgan | lsgan | hinge")
            sp.add_argument("--eta", type=nonneg_float("--eta"), default=0.0,
                            help="gradient-penalty strength η (Nagarajan & Kolter); 0 = none")
            sp.add_argument("--param", action="append", metavar="K=V",
                            help="system parameter, e.g. sigma=2 (repeatable)")

    sp = sub.add_parser("systems", help="list the built-in systems and their parameters")
    common(sp, system=False)
    sp.set_defaults(func=cmd_systems)

    sp = sub.add_parser("spectrum", help="exact Jacobian spectrum and stability verdict")
    common(sp)
    sp.add_argument("--at", choices=["equilibrium", "init"], default="equilibrium",
                    help="where to linearise (default: the known equilibrium)")
    sp.add_argument("--tol", type=nonneg_float("--tol"), default=1e-9,
                    help="|Re λ| <= tol counts as marginal")
    sp.add_argument("--show", type=int, default=12, help="eigenvalues to print in the table")
    sp.add_argument("--max-dense", type=int, default=8000,
                    help="largest n for a dense Jacobian")
    sp.set_defaults(func=cmd_spectrum)

    sp = sub.add_parser("table", help="stability table of every built-in system (the demo)")
    common(sp, system=False)
    sp.add_argument("--eta", type=nonneg_float("--eta"), nargs="+", default=[0.0, 0.5],
                    help="penalty strengths to tabulate")
    sp.set_defaults(func=cmd_table)
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
