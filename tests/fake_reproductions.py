"""Two cheap reproductions registered by the tests of `gdgan.reproduce` (parallel, resume)."""

import os
from pathlib import Path

from gdgan._reproduce._section import Section, register


def _make(name):
    def run(out: Path, quick: bool) -> Section:
        (out / f"{name}.txt").write_text(str(os.getpid()))
        return Section(
            name,
            name.title(),
            "a claim",
            "a setup",
            {"quick": quick, "pid": os.getpid()},
            quick,
            "because quick" if quick else "not quick",
        )

    return run


for _name in ("fake-a", "fake-b"):
    register(_name)(_make(_name))
