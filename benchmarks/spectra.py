"""Dense Jacobians and eigenvalues of MLP GANs at growing n, side by side with baselines.

    python benchmarks/spectra.py                 # the README table (slow: tens of minutes)
    python benchmarks/spectra.py --quick         # n = 500 and 2000, matrix-free 1e5 skipped
    python benchmarks/spectra.py --kind eig --sizes 500 2000 --mf-sizes preset 100000 --json

Every (method, n) runs in its own child process, so its peak RSS is its own; times are the
minimum of `--repeats` calls after a compiling call (`jax.block_until_ready`); matrix-free
rows report JVP counts, seconds per JVP, the rest of the iteration and the compile time
apart. The machine and its load average are printed with the table. See README.md.
"""

import argparse
import json
import sys

from gdgan._cli._bench import MF_METHODS, bench, machine, table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["jacobian", "eig", "both"], default="both")
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000, 16000])
    p.add_argument(
        "--mf-sizes",
        nargs="*",
        default=["preset", "100000", "1000000"],
        help="matrix-free-only eigenvalue runs: n or 'preset' (the authors' ring)",
    )
    p.add_argument("--methods", nargs="+", default=None)
    p.add_argument(
        "--mf-methods",
        nargs="+",
        default=list(MF_METHODS),
        choices=list(MF_METHODS),
        help="methods for the --mf-sizes runs (same product with J)",
    )
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--timeout", type=int, default=1200, help="seconds per child process")
    p.add_argument("--max-dense-eig", type=int, default=4000)
    p.add_argument("--quick", action="store_true", help="n = 500, 2000; matrix-free: preset")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        a.sizes, a.mf_sizes, a.repeats = [500, 2000], ["preset"], 1
    say = lambda r: print(json.dumps(r), file=sys.stderr, flush=True)
    before = machine()
    rows = []
    for kind in ["jacobian", "eig"] if a.kind == "both" else [a.kind]:
        rows += bench(
            kind,
            a.sizes,
            methods=a.methods,
            repeats=a.repeats,
            timeout=a.timeout,
            max_dense_eig=a.max_dense_eig,
            extra_mf=a.mf_sizes if kind == "eig" else (),
            mf_methods=a.mf_methods,
            progress=say,
        )
    info = {"machine": before, "load_average_after": machine()["load_average"]}
    if a.json:
        print(json.dumps({**info, "rows": rows}))
    else:
        print(f"machine: {before}; load average after: {info['load_average_after']}")
        print(table(rows))


if __name__ == "__main__":
    main()
