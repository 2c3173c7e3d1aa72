"""Cheap reproductions registered by the tests of `gdgan.reproduce` (parallel, resume, exit
status): `fake-a` and `fake-b` are reproduced in quick mode only; `fake-fail`'s verdict
always fails (a claim its numbers contradict), for the CLI's exit-status test."""

import os
from pathlib import Path

from gdgan._reproduce._section import Section, register

#: The fakes' configuration: part of `gdgan._reproduce.fingerprint` (tests change it).
FAKE_CONFIG = {"threshold": 1.0}


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


def verdict_fake(numbers):
    """The claim "the measured value reaches the threshold"."""
    ok = numbers["value"] >= FAKE_CONFIG["threshold"]
    return ok, f"value {numbers['value']:g} vs threshold {FAKE_CONFIG['threshold']:g}"


@register("fake-fail")
def fake_fail(out: Path, quick: bool) -> Section:
    numbers = {"value": 0.5, "pid": os.getpid()}
    ok, reason = verdict_fake(numbers)
    return Section("fake-fail", "Fake failure", "value ≥ 1", "none", numbers, ok, reason)


for _name in ("fake-a", "fake-b"):
    register(_name)(_make(_name))
