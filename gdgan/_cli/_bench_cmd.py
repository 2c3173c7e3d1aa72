"""`gdgan bench jacobian|eig`: the command; the measurements live in `_bench.py`."""

from __future__ import annotations

from ._common import CLIError, add_json, emit, nonnegative_int, number, positive_int


def mf_size(text):
    if text == "preset":
        return text
    return number("--mf-sizes", int, 10)(text)


def cmd_bench(args):
    from ._bench import bench, table

    if args.mf_sizes is not None and args.name != "eig":
        raise CLIError("--mf-sizes: expected only with `gdgan bench eig`, got it with jacobian")
    sizes = args.sizes or ([300, 1000] if args.name == "jacobian" else [300])
    mf = args.mf_sizes if args.mf_sizes is not None else []
    rows = bench(args.name, sizes, repeats=args.repeats, timeout=args.timeout, extra_mf=mf)
    emit({"benchmark": args.name, "rows": rows}, args.json, table(rows))


def register(sub):
    sp = sub.add_parser(
        "bench",
        help="benchmarks: dense Jacobian (jacobian) or eigenvalues (eig)",
        description="Each measurement runs in a fresh child process (its own peak memory).",
    )
    sp.add_argument("name", choices=["jacobian", "eig"], help="what to benchmark")
    sp.add_argument(
        "--sizes",
        type=number("--sizes", int, 10),
        nargs="+",
        help="parameter counts n (default: 300 1000 for jacobian, 300 for eig)",
    )
    sp.add_argument(
        "--mf-sizes",
        type=mf_size,
        nargs="*",
        help="eig only: matrix-free-only sizes (integers >= 10) or 'preset' (default: none)",
    )
    sp.add_argument(
        "--repeats", type=nonnegative_int("--repeats"), default=1, help="timed calls after one"
    )
    sp.add_argument(
        "--timeout", type=positive_int("--timeout"), default=600, help="seconds per measurement"
    )
    add_json(sp)
    sp.set_defaults(func=cmd_bench)
