"""The leaf of the reproductions: `Section` (one reproduction's result) and the
`register` decorator. Study modules import this module; nothing here imports them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass
class Section:
    """One reproduction's result.

    - `name`, `title`; `claim` (what the paper says), `setup` (how it was measured);
    - `figures`: file names relative to the output directory;
    - `numbers`: JSON-serialisable measurements; `table`: optional Markdown table;
    - `reproduced`: computed from `numbers` by the reproduction's verdict function;
      `reason`: one sentence saying why;
    - `kind`: `"claim"` (a paper's claim: reproduced / not reproduced) or `"question"` (an
      open question the section answers by a protocol fixed in advance: `reproduced` then
      means *answered*, i.e. the protocol was conclusive and its controls passed, and
      `reason` states the answer, whatever it is).
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
    kind: str = "claim"

    @property
    def verdict_label(self) -> str:
        if self.kind == "question":
            return "answered" if self.reproduced else "inconclusive"
        return "reproduced" if self.reproduced else "not reproduced"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "reproduced": bool(self.reproduced),
            "verdict": self.verdict_label,
            "reason": self.reason,
            "numbers": self.numbers,
            "figures": list(self.figures),
            "seconds": round(self.seconds, 2),
        }

    def markdown(self) -> str:
        verdict = self.verdict_label
        parts = [
            f"## {self.title} (`{self.name}`)",
            f"**{'Question' if self.kind == 'question' else 'Claim'}.** {self.claim}",
            f"**Setup.** {self.setup}",
        ]
        parts += [f"![{self.name}]({fig})" for fig in self.figures]
        if self.table:
            parts.append(self.table)
        nums = "\n".join(
            f"- {k}: {_fmt(v)}" for k, v in self.numbers.items() if not isinstance(v, (list, dict))
        )
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
