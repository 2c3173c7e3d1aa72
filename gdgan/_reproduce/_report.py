"""The report: `report.md`, `report.html` (images inline) and `report.json`."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path


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
                    body.append(
                        f'<p><img alt="{html.escape(m.group(1))}" src="data:image/png;base64,{data}" style="max-width:100%"></p>'
                    )
        elif b.startswith("|"):
            rows = [r for r in b.splitlines() if not re.match(r"^\|[-| :]+\|$", r)]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
            rest = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            body.append(f"<table><tr>{head}</tr>{rest}</table>")
        elif (
            all(line.startswith("- ") for line in b.splitlines()[1:] or ["- "])
            and "\n- " in "\n" + b
        ):
            lines = b.splitlines()
            items = [ln[2:] for ln in lines if ln.startswith("- ")]
            head = [ln for ln in lines if not ln.startswith("- ")]
            body.append(
                "".join(f"<p>{_inline(h)}</p>" for h in head)
                + "<ul>"
                + "".join(f"<li>{_inline(i)}</li>" for i in items)
                + "</ul>"
            )
        else:
            body.append(f"<p>{_inline(b)}</p>")
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
    )
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
        f"| `{s.name}` | {s.verdict_label} | {s.seconds:.1f} |" for s in sections
    )
    md = "\n\n".join(head + [summary] + [s.markdown() for s in sections]) + "\n"
    (out / "report.md").write_text(md)
    (out / "report.html").write_text(_markdown_to_html(md, out))
    (out / "report.json").write_text(json.dumps([s.to_json() for s in sections], indent=1))
    return out / "report.md"
