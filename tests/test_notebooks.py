"""Every notebook (jupytext py:percent) runs top to bottom in smoke mode."""

import os
import pathlib
import subprocess
import sys

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(path, tmp_path):
    env = {**os.environ, "GDGAN_SMOKE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {
        "quickstart",
        "nagarajan_kolter",
        "li_madry",
        "own_networks",
        "beyond_the_papers",
    }
