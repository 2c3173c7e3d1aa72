"""Reproductions of the papers' claims: each computes the claim from scratch, writes its
figures, and returns a `Section` whose verdict is computed from the measured numbers.
`reproduce` runs them and writes `report.md` and `report.html` (images inline)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import time
from collections.abc import Callable
from pathlib import Path


@dataclasses.dataclass
class Section:
    """One reproduction's result.

    - `name`, `title`; `claim` (what the paper says), `setup` (how it was measured);
    - `figures`: file names relative to the output directory;
    - `numbers`: JSON-serialisable measurements; `table`: optional Markdown table;
    - `reproduced`: computed from `numbers` by the reproduction's verdict function;
      `reason`: one sentence saying why.
    """

    name: str
    title: str
    claim: str
    setup: str
    numbers: dict
    reproduced: bool
    reason: str
    figures: list = dataclasses.field(default_factory=list)
    table: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "reproduced": bool(self.reproduced),
            "reason": self.reason,
            "numbers": self.numbers,
            "figures": list(self.figures),
            "seconds": round(self.seconds, 2),
        }

    def markdown(self) -> str:
        verdict = "reproduced" if self.reproduced else "not reproduced"
        parts = [
            f"## {self.title} (`{self.name}`)",
            f"**Claim.** {self.claim}",
            f"**Setup.** {self.setup}",
        ]
        parts += [f"![{self.name}]({fig})" for fig in self.figures]
        if self.table:
            parts.append(self.table)
        nums = "\n".join(f"- {k}: {_fmt(v)}" for k, v in self.numbers.items() if not isinstance(v, (list, dict)))
        if nums:
            parts.append("**Measured.**\n\n" + nums)
        parts.append(f"**Verdict: {verdict}** — {self.reason} ({self.seconds:.1f} s)")
        return "\n\n".join(parts)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


REPRODUCTIONS: dict[str, Callable] = {}
WEIGHTS: dict[str, float] = {}


def register(name: str, *, weight: float = 1.0):
    """Decorator: `fn(out: Path, quick: bool) -> Section` becomes `gdgan reproduce NAME`.
    `weight`: its rough relative cost; parallel runs start the heaviest first."""

    def deco(fn):
        REPRODUCTIONS[name] = fn
        WEIGHTS[name] = float(weight)
        return fn

    return deco


def _markdown_to_html(md: str, out: Path) -> str:
    """A small Markdown → HTML conversion for the report (headings, images inline as
    base64, tables, bold, lists, paragraphs)."""
    blocks = md.split("\n\n")
    body = []
    for block in blocks:
        b = block.strip()
        if not b:
            continue
        if b.startswith("#"):
            level = len(b) - len(b.lstrip("#"))
            body.append(f"<h{level}>{_inline(b[level:].strip())}</h{level}>")
        elif b.startswith("!["):
            for m in re.finditer(r"!\[(.*?)\]\((.*?)\)", b):
                path = out / m.group(2)
                if path.exists():
                    data = base64.b64encode(path.read_bytes()).decode()
                    body.append(f'<p><img alt="{html.escape(m.group(1))}" src="data:image/png;base64,{data}" style="max-width:100%"></p>')
        elif b.startswith("|"):
            rows = [r for r in b.splitlines() if not re.match(r"^\|[-| :]+\|$", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
            rest = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
            body.append(f"<table><tr>{head}</tr>{rest}</table>")
        elif all(line.startswith("- ") for line in b.splitlines()[1:] or ["- "]) and "\n- " in "\n" + b:
            lines = b.splitlines()
            items = [ln[2:] for ln in lines if ln.startswith("- ")]
            head = [ln for ln in lines if not ln.startswith("- ")]
            body.append("".join(f"<p>{_inline(h)}</p>" for h in head) + "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        else:
            body.append(f"<p>{_inline(b)}</p>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.45}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>gdgan report</title><style>{style}</style></head><body>{''.join(body)}</body></html>"


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return t


def write_report(sections, out: Path) -> Path:
    head = [
        "# gdgan reproduction report",
        "Each section computes a claim of Nagarajan & Kolter (2017), Mescheder et al. (2018) or "
        "Li, Madry, Peebles & Schmidt (2018) from scratch; the verdict line is computed from the "
        "measured numbers.",
    ]
    summary = "| reproduction | verdict | seconds |\n|---|---|---|\n" + "\n".join(
        f"| `{s.name}` | {'reproduced' if s.reproduced else 'not reproduced'} | {s.seconds:.1f} |"
        for s in sections
    )
    md = "\n\n".join(head + [summary] + [s.markdown() for s in sections]) + "\n"
    (out / "report.md").write_text(md)
    (out / "report.html").write_text(_markdown_to_html(md, out))
    (out / "report.json").write_text(json.dumps([s.to_json() for s in sections], indent=1))
    return out / "report.md"


def reproduce(name="all", out="gdgan-out", *, quick=False, log=None, jobs=1, resume=False):
    """Run the reproduction `name` (or `"all"`), write figures and `report.md` / `.html` into
    `out`, and return the list of `Section`s.

    Each finished section is saved at once to `out/sections/NAME.json` and the report is
    rewritten, so an interrupted run keeps what it finished; `resume=True` then reuses every
    saved section run with the same `quick` setting instead of recomputing it.

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
    names = list(REPRODUCTIONS) if name == "all" else ([name] if isinstance(name, str) else list(name))
    for n in names:
        if n not in REPRODUCTIONS:
            raise ValueError(f"name: expected one of {list(REPRODUCTIONS) + ['all']}, got {n!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
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
            log(f"  {sec.name}: {'reproduced' if sec.reproduced else 'NOT reproduced'} ({sec.seconds:.1f} s)")

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
            futures = {pool.submit(_run_section, n, str(out), quick, bool(jax.config.jax_enable_x64),
                                   REPRODUCTIONS[n].__module__): n
                       for n in order}
            if log:
                log(f"reproduce {', '.join(todo)} in {min(jobs, len(todo))} processes ...")
            with tqdm(total=len(todo), desc="reproductions", unit="section", disable=False) as bar:
                for fut in cf.as_completed(futures):
                    bar.clear()
                    finished(fut.result())
                    bar.update(1)
    finally:
        os.environ.pop("TQDM_DISABLE", None)


def _save_section(out: Path, sec: Section, quick: bool):
    obj = {**dataclasses.asdict(sec), "quick": bool(quick)}
    tmp = out / "sections" / f".{sec.name}.json.tmp"
    tmp.write_text(json.dumps(obj, default=float))
    tmp.replace(out / "sections" / f"{sec.name}.json")


def _load_section(out: Path, name: str, quick: bool):
    path = out / "sections" / f"{name}.json"
    if not path.exists():
        return None
    obj = json.loads(path.read_text())
    if obj.pop("quick", None) != bool(quick):
        return None
    return Section(**obj)


def reproductions() -> list[str]:
    _load_all()
    return list(REPRODUCTIONS)


def _load_all():
    """Import the modules that register reproductions (they use matplotlib)."""
    from . import _repro_nk, _repro_ring  # noqa: F401
    from . import _repro_digits, _repro_li_madry, _repro_roa, _repro_stochastic  # noqa: F401
