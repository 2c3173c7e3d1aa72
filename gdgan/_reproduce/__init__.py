"""Reproductions of the papers' claims: each computes the claim from scratch, writes its
figures, and returns a `Section` whose verdict is computed from the measured numbers.
`reproduce` runs them and writes `report.md` and `report.html` (images inline)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .._checks import InputError
from ._report import write_report
from ._section import REPRODUCTIONS, WEIGHTS, Section

#: The study modules; each registers its sections on import.
MODULES = (
    "nk",
    "ring",
    "digits",
    "li_madry",
    "roa",
    "stochastic",
    "drift",
    "bifurcations",
    "cycles",
)


def reproduce(name="all", out="gdgan-out", *, quick=False, log=None, jobs=1, resume=False):
    """Run the reproduction `name` (or `"all"`), write figures and `report.md` / `.html` into
    `out`, and return the list of `Section`s.

    Each finished section is saved at once to `out/sections/NAME.json` and the report is
    rewritten, so an interrupted run keeps what it finished; `resume=True` then reuses a
    saved section only when its fingerprint matches (`fingerprint`: the `quick` setting,
    `gdgan.__version__`, a hash of the section module's source and its configuration, i.e.
    the module's upper-case constants), and recomputes it otherwise.

    Each returned `Section` has `reproduced` (its verdict): a caller (the CLI) should exit
    with status 1 when `not all(s.reproduced for s in sections)`.

    **Arguments:** `name`: one of `gdgan.reproductions()`, `"all"`, or a list of names;
    `out`: output directory; `quick`: small configurations (minutes on a laptop CPU);
    `log`: a callable receiving progress lines (default: none); `jobs`: run up to this many
    sections at once in separate processes (each compiles on its own core; per-section
    progress bars are then replaced by one bar over sections); `resume`: as above.

    ```python
    sections = gdgan.reproduce("nk-lq", out="out", quick=True)
    sections[0].reproduced
    ```
    """
    _load_all()
    names = (
        list(REPRODUCTIONS) if name == "all" else ([name] if isinstance(name, str) else list(name))
    )
    for n in names:
        if n not in REPRODUCTIONS:
            raise InputError(f"name: expected one of {list(REPRODUCTIONS) + ['all']}, got {n!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InputError(f"jobs: expected a positive integer, got {jobs!r}")
    out = Path(out)
    (out / "sections").mkdir(parents=True, exist_ok=True)
    done = {n: s for n in names if resume and (s := _load_section(out, n, quick)) is not None}
    todo = [n for n in names if n not in done]
    if log and done:
        log(f"resume: reusing {', '.join(done)} from {out / 'sections'}")

    def finished(sec):
        done[sec.name] = sec
        _save_section(out, sec, quick)
        write_report([done[n] for n in names if n in done], out)
        if log:
            log(f"  {sec.name}: {sec.verdict_label} ({sec.seconds:.1f} s)")

    if jobs == 1 or len(todo) <= 1:
        for n in todo:
            if log:
                log(f"reproduce {n} ...")
            finished(_run_section(n, str(out), quick))
    else:
        _run_parallel(todo, out, quick, jobs, finished, log)
    sections = [done[n] for n in names]
    write_report(sections, out)
    return sections


def _run_section(n, out, quick, x64=None, module=None):
    if x64 is not None:  # in a worker process: the parent's precision and registrations
        import importlib

        import jax

        jax.config.update("jax_enable_x64", x64)
        _load_all()
        importlib.import_module(module)
    t0 = time.perf_counter()
    sec = REPRODUCTIONS[n](Path(out), quick)
    sec.seconds = time.perf_counter() - t0
    return sec


def _run_parallel(todo, out, quick, jobs, finished, log):
    import concurrent.futures as cf
    import multiprocessing
    import os

    import jax
    from tqdm.auto import tqdm

    # JAX is not fork-safe: fresh interpreters; their own progress bars would interleave.
    os.environ["TQDM_DISABLE"] = "1"
    try:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx) as pool:
            order = sorted(todo, key=lambda n: -WEIGHTS.get(n, 1.0))
            futures = {
                pool.submit(
                    _run_section,
                    n,
                    str(out),
                    quick,
                    bool(jax.config.jax_enable_x64),
                    REPRODUCTIONS[n].__module__,
                ): n
                for n in order
            }
            if log:
                log(f"reproduce {', '.join(todo)} in {min(jobs, len(todo))} processes ...")
            with tqdm(total=len(todo), desc="reproductions", unit="section", disable=False) as bar:
                for fut in cf.as_completed(futures):
                    bar.clear()
                    finished(fut.result())
                    bar.update(1)
    finally:
        os.environ.pop("TQDM_DISABLE", None)


def fingerprint(name: str, quick: bool) -> dict:
    """What a saved section must match to be reused by `reproduce(..., resume=True)`:
    `quick`, `gdgan.__version__`, the SHA-256 of the source of the module that registers
    `name`, and its configuration (the module's upper-case constants: configs, seeds,
    thresholds), as JSON-ready values."""
    import hashlib
    import importlib
    import inspect

    from .. import __version__

    module = importlib.import_module(REPRODUCTIONS[name].__module__)
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = ""
    config = {
        k: v
        for k, v in vars(module).items()
        if k.isupper() and isinstance(v, (dict, list, tuple, int, float, str, bool))
    }
    return {
        "quick": bool(quick),
        "version": __version__,
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "config": json.loads(json.dumps(config, default=repr, sort_keys=True)),
    }


def _save_section(out: Path, sec: Section, quick: bool):
    obj = {**dataclasses.asdict(sec), "fingerprint": fingerprint(sec.name, quick)}
    tmp = out / "sections" / f".{sec.name}.json.tmp"
    tmp.write_text(json.dumps(obj, default=float))
    tmp.replace(out / "sections" / f"{sec.name}.json")


def _load_section(out: Path, name: str, quick: bool):
    path = out / "sections" / f"{name}.json"
    if not path.exists():
        return None
    obj = json.loads(path.read_text())
    if obj.pop("fingerprint", None) != fingerprint(name, quick):
        return None
    fields = {f.name for f in dataclasses.fields(Section)}
    return Section(**{k: v for k, v in obj.items() if k in fields})


def reproductions() -> list[str]:
    _load_all()
    return list(REPRODUCTIONS)


def _load_all():
    """Import the modules that register reproductions (they use matplotlib)."""
    import importlib

    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
