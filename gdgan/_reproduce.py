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


def register(name: str):
    """Decorator: `fn(out: Path, quick: bool) -> Section` becomes `gdgan reproduce NAME`."""

    def deco(fn):
        REPRODUCTIONS[name] = fn
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


def reproduce(name="all", out="gdgan-out", *, quick=False, log=None):
    """Run the reproduction `name` (or `"all"`), write figures and `report.md` / `.html` into
    `out`, and return the list of `Section`s.

    **Arguments:** `name`: one of `gdgan.reproductions()` or `"all"`; `out`: output
    directory; `quick`: small configurations (minutes on a laptop CPU); `log`: a callable
    receiving progress lines (default: none).

    ```python
    sections = gdgan.reproduce("nk-lq", out="out", quick=True)
    sections[0].reproduced
    ```
    """
    _load_all()
    names = list(REPRODUCTIONS) if name == "all" else [name]
    for n in names:
        if n not in REPRODUCTIONS:
            raise ValueError(f"name: expected one of {list(REPRODUCTIONS) + ['all']}, got {n!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for n in names:
        if log:
            log(f"reproduce {n} ...")
        t0 = time.perf_counter()
        sec = REPRODUCTIONS[n](out, quick)
        sec.seconds = time.perf_counter() - t0
        sections.append(sec)
        if log:
            log(f"  {n}: {'reproduced' if sec.reproduced else 'NOT reproduced'} ({sec.seconds:.1f} s)")
    write_report(sections, out)
    return sections


def reproductions() -> list[str]:
    _load_all()
    return list(REPRODUCTIONS)


def _load_all():
    """Import the modules that register reproductions (they use matplotlib)."""
    from . import _repro_nk, _repro_ring  # noqa: F401
    from . import _repro_li_madry  # noqa: F401
