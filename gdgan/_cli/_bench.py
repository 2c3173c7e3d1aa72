"""Benchmarks of dense Jacobians and eigenvalues against their baselines (used by
`benchmarks/spectra.py` and `gdgan bench jacobian|eig`). Each measurement runs in a fresh
child process so that its peak memory (`ru_maxrss`) is its own; timings are the minimum of
repeats after one compiling call, with `jax.block_until_ready`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

from .._checks import InputError

JACOBIAN_METHODS = ("gdgan", "gdgan-jvp", "jacfwd", "rowloop", "njvp")
EIG_METHODS = ("numpy", "jnp", "matrix-free")
MF_METHODS = ("matrix-free", "matrix-free-f32", "arpack")  # on the same product with J


def ring_for(n_target: int, n_samples: int = 512):
    """A ring GAN (ReLU MLPs, latent_dim = 2·width, batch `n_samples`) with about
    `n_target` parameters: n = 3w² + 8w + 3."""
    from .. import systems

    w = max(1, round((-8 + math.sqrt(64 - 12 * (3 - n_target))) / 6))
    return systems.get("ring", width=w, latent_dim=2 * w, n_samples=n_samples)


def _system(spec):
    from .. import systems

    if spec == "preset":  # the authors' ring preset: width 128, latent 256
        return systems.get("ring")
    return ring_for(int(spec))


def _timeit(fn, repeats):
    import jax

    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return out, first, min(times) if times else first


def _maxrss_bytes():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(kind, method, spec, repeats=1, k=6, limit_gb=12.0):
    """One measurement in this process; returns a dict (printed as JSON by the child)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    from .._analysis import flatten, jacobian
    from .._regularizers import GradientPenalty

    s = _system(spec)
    # eigenvalues: the ring with GradientPenalty(0.5), the 10⁶ configuration
    field = s.field(GradientPenalty(0.5)) if kind == "eig" else s.field()
    y = s.init
    f, v, _ = flatten(field, y)
    n = int(v.size)
    base = _maxrss_bytes()
    row = {"kind": kind, "method": method, "n": n, "system": f"ring(width={s.params['width']})"}
    if kind == "jacobian":
        if method in ("gdgan", "gdgan-jvp"):
            mode = "vjp" if method == "gdgan" else "jvp"
            fn = jax.jit(lambda y: jacobian(field, y, mode=mode))
            J, first, best = _timeit(lambda: fn(y), repeats)
        elif method == "jacfwd":
            fn = jax.jit(jax.jacfwd(f))
            stats = fn.lower(v).compile().memory_analysis()
            need = (stats.temp_size_in_bytes + stats.output_size_in_bytes) if stats else 0
            if need > limit_gb * 2**30:
                row.update(status=f"skipped: XLA needs {need / 2**30:.1f} GiB > {limit_gb} GiB")
                return row
            J, first, best = _timeit(lambda: fn(v), repeats)
        elif method == "rowloop":  # one jax.vjp, then one jitted VJP per output row
            _, vjp = jax.vjp(f, v)
            g = jax.jit(lambda vjp, e: vjp(e)[0])
            eye_row = lambda i: jnp.zeros(n, v.dtype).at[i].set(1.0)  # noqa: E731
            jax.block_until_ready(g(vjp, eye_row(0)))

            def loop():
                out = np.empty((n, n))
                for i in range(n):
                    out[i] = np.asarray(g(vjp, eye_row(i)))
                return out

            J, first, best = _timeit(loop, max(0, repeats - 1))
        elif method == "njvp":  # the floor: n single JVPs of one linearisation (extrapolated)
            _, lin = jax.linearize(f, v)
            g = jax.jit(lambda lin, x: lin(x))
            x = jnp.ones_like(v)
            jax.block_until_ready(g(lin, x))
            m = min(n, 200)
            t0 = time.perf_counter()
            for _ in range(m):
                out = g(lin, x)
            jax.block_until_ready(out)
            best = (time.perf_counter() - t0) / m * n
            first, J = best, None
            row["note"] = f"{m} JVPs timed, scaled to n"
        else:
            raise InputError(f"method: expected one of {JACOBIAN_METHODS}, got {method!r}")
        peak = _maxrss_bytes()  # before the reference below
        if J is not None and n <= 3000 and method != "jacfwd":
            ref = np.asarray(jax.jit(jax.jacfwd(f))(v))
            row["max_abs_diff_vs_jacfwd"] = float(np.max(np.abs(np.asarray(J) - ref)))
        row.update(time_s=best, first_call_s=first, jacobian_gib=n * n * 8 / 2**30)
    elif kind == "eig":
        if method in ("numpy", "jnp"):
            J = np.asarray(jax.jit(lambda y: jacobian(field, y))(y))
            base = _maxrss_bytes()
            if method == "numpy":
                ev, first, best = _timeit(lambda: np.linalg.eigvals(J), max(0, repeats - 1))
            else:
                Jd = jnp.asarray(J)
                g = jax.jit(jnp.linalg.eigvals)
                ev, first, best = _timeit(lambda: g(Jd), repeats)
            ev = np.asarray(ev)
            ev = ev[np.lexsort((-ev.imag, -ev.real))]
            row["rightmost"] = [[float(e.real), float(e.imag)] for e in ev[:k]]
            row["rho"] = float(np.max(np.abs(ev)))
        elif method in MF_METHODS:
            row.update(_matrix_free(field, y, method, k))
            best = first = row["wall_s"]
        else:
            raise InputError(
                f"method: expected one of {EIG_METHODS + MF_METHODS[1:]}, got {method!r}"
            )
        row.update(time_s=best, first_call_s=first)
        peak = _maxrss_bytes()
    else:
        raise InputError(f"kind: expected 'jacobian' or 'eig', got {kind!r}")
    row.update(peak_rss_gib=peak / 2**30, baseline_rss_gib=base / 2**30, status="ok")
    return row


def _matrix_free(field, y, method, k, tol=None):
    """`rightmost_eigenvalues`' own steps, timed apart: linearising and compiling the JVP,
    the products with J (count and seconds each), the rest (Gram–Schmidt, restarts: the
    basis vectors read), and the whole call."""
    import numpy as np

    from .._spectra import _matvec_of, _solve, _tol

    dtype = "float32" if method == "matrix-free-f32" else None
    tol = _tol(tol, dtype)
    t0 = time.perf_counter()
    matvec, n, _ = _matvec_of(field, y, 0.0, None, dtype)
    matvec(np.ones(n))
    compile_s = time.perf_counter() - t0
    spent = [0.0]

    def timed(x):
        t = time.perf_counter()
        out = matvec(x)
        spent[0] += time.perf_counter() - t
        return out

    stats = {}
    t1 = time.perf_counter()
    r = _solve(
        timed,
        n,
        k,
        "rightmost",
        None,
        method="arpack" if method == "arpack" else "krylov-schur",
        ncv=None,
        tol=tol,
        max_restarts=300,
        v0=None,
        return_eigenvectors=False,
        seed=0,
        stats=stats,
    )
    solve_s = time.perf_counter() - t1
    return dict(
        rightmost=[[float(e.real), float(e.imag)] for e in r.eigenvalues],
        n_matvecs=r.n_matvecs,
        n_restarts=r.n_restarts,
        basis_reads=stats.get("basis_reads"),
        tol=tol,
        jvp_s=spent[0] / max(r.n_matvecs, 1),
        other_s=solve_s - spent[0],
        compile_s=compile_s,
        wall_s=compile_s + solve_s,
        max_residual=float(np.max(r.residuals)),
        converged=bool(r.all_converged),
        scale=r.scale,
    )


def machine() -> dict:
    """The machine and its load, recorded with every table."""
    import platform

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": load,
        "python": platform.python_version(),
    }


def run_child(kind, method, spec, repeats=1, timeout=900, k=6):
    """`run_one` in a fresh interpreter (its own peak memory); failures become rows."""
    cmd = [sys.executable, "-m", "gdgan._cli._bench", kind, method, str(spec), str(repeats), str(k)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "")},
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "method": method, "spec": spec, "status": f"timeout > {timeout} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1][:200]
        status = "OOM (killed)" if p.returncode in (-9, 137) else f"failed: {tail}"
        return {
            "kind": kind,
            "method": method,
            "spec": spec,
            "status": status,
            "wall_s": time.perf_counter() - t0,
        }
    return json.loads(lines[-1])


def add_errors(rows):
    """Errors of the matrix-free rightmost eigenvalues against the dense ones (same n), and
    of float32 products and ARPACK against gdgan's float64 matrix-free run (same n)."""
    import numpy as np

    def err(r, ref, scale):
        a = np.array([complex(*e) for e in r["rightmost"]])
        b = np.array([complex(*e) for e in ref["rightmost"]][: len(a)])
        e = np.abs(a - b)
        return float(e.max()), float(e.max() / scale), float(np.max(e / np.maximum(abs(b), 1e-300)))

    ok = [r for r in rows if r.get("status") == "ok"]
    dense = {r["n"]: r for r in ok if r.get("method") == "numpy"}
    mf = {r["n"]: r for r in ok if r.get("method") == "matrix-free"}
    for r in ok:
        if r.get("method") == "matrix-free" and r["n"] in dense:
            d = dense[r["n"]]
            r["abs_err_vs_dense"], r["err_over_rho"], r["rel_err_vs_dense"] = err(r, d, d["rho"])
        if r.get("method") in MF_METHODS[1:] and r["n"] in mf:
            m = mf[r["n"]]
            r["abs_err_vs_f64"], _, r["rel_err_vs_f64"] = err(r, m, m["scale"])
    return rows


def bench(
    kind,
    sizes,
    *,
    methods=None,
    repeats=1,
    timeout=900,
    max_dense_eig=4000,
    extra_mf=(),
    mf_methods=MF_METHODS,
    progress=None,
):
    """Rows for every (size, method); `extra_mf`: sizes (or "preset") run with each of
    `mf_methods` only (gdgan float64, gdgan float32 products, ARPACK, on one product)."""
    rows = []
    methods = methods or (JACOBIAN_METHODS if kind == "jacobian" else EIG_METHODS)
    for n in sizes:
        for m in methods:
            if kind == "eig" and m != "matrix-free" and n > max_dense_eig:
                rows.append(
                    {
                        "kind": kind,
                        "method": m,
                        "spec": n,
                        "status": f"skipped: n > --max-dense-eig {max_dense_eig}",
                    }
                )
                continue
            rows.append(run_child(kind, m, n, repeats, timeout))
            if progress:
                progress(rows[-1])
    if kind == "eig":
        for spec in extra_mf:
            for m in mf_methods:
                rows.append(run_child(kind, m, spec, repeats, timeout))
                if progress:
                    progress(rows[-1])
    return add_errors(rows)


def table(rows) -> str:
    head = f"{'kind':<9}{'method':<16}{'n':>9}{'time s':>10}{'peak GiB':>10}{'base GiB':>10}  notes"
    out = [head, "-" * len(head)]
    for r in rows:
        n = r.get("n", r.get("spec", "?"))
        if r.get("status") != "ok":
            out.append(
                f"{r['kind']:<9}{r['method']:<16}{n!s:>9}{'-':>10}{'-':>10}{'-':>10}  {r['status']}"
            )
            continue
        notes = []
        if r["kind"] == "jacobian" and r.get("jacobian_gib"):
            extra = (r["peak_rss_gib"] - r["baseline_rss_gib"]) / r["jacobian_gib"]
            notes.append(f"(peak - base) / size(J) = {extra:.2f}")
        if "max_abs_diff_vs_jacfwd" in r:
            notes.append(f"|J-jacfwd|={r['max_abs_diff_vs_jacfwd']:.1e}")
        if "note" in r:
            notes.append(r["note"])
        if "n_matvecs" in r:
            notes.append(
                f"{r['n_matvecs']} JVPs × {r['jvp_s']:.3f} s + {r['other_s']:.1f} s other "
                f"({r['basis_reads']} basis reads) + {r['compile_s']:.1f} s compile, "
                f"tol {r['tol']:.0e}, res {r['max_residual']:.1e}"
                + ("" if r["converged"] else " (not converged)")
            )
        if "abs_err_vs_f64" in r:
            notes.append(f"vs gdgan f64: {r['abs_err_vs_f64']:.1e} (rel {r['rel_err_vs_f64']:.1e})")
        if "abs_err_vs_dense" in r:
            notes.append(f"err {r['abs_err_vs_dense']:.1e} (rel {r['rel_err_vs_dense']:.1e})")
        if r["method"] in EIG_METHODS + MF_METHODS:
            notes.append(f"Re λ1={r['rightmost'][0][0]:.6g}")
        out.append(
            f"{r['kind']:<9}{r['method']:<16}{n:>9}{r['time_s']:>10.3f}"
            f"{r['peak_rss_gib']:>10.2f}{r['baseline_rss_gib']:>10.2f}  " + "; ".join(notes)
        )
    return "\n".join(out)


if __name__ == "__main__":  # child: kind method spec repeats k
    kind, method, spec, repeats, k = sys.argv[1:6]
    print(json.dumps(run_one(kind, method, spec, int(repeats), int(k))))
