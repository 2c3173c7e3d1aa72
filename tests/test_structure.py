"""The house: the core never imports the edge, and every public name of the contract imports."""

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "gdgan"
EDGE = ("systems", "plot", "_reproduce", "_cli", "li_madry")


def core_modules():
    """Top-level private modules and the private core packages (e.g. `_sweep/`)."""
    files = [p for p in ROOT.glob("_*.py") if p.name not in ("__init__.py", "__main__.py")]
    for pkg in ROOT.iterdir():
        if (
            pkg.is_dir()
            and pkg.name.startswith("_")
            and pkg.name not in EDGE
            and pkg.name != "__pycache__"
        ):
            files += sorted(pkg.rglob("*.py"))
    return sorted(files)


def imported_gdgan_modules(path):
    """Absolute names of the gdgan modules `path` imports (relative imports resolved)."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            out.update(n for n in names if n.startswith("gdgan"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("gdgan"))
    return out


def test_core_modules_found():
    names = {p.name for p in core_modules()}
    assert {"_field.py", "_analysis.py", "_simulate.py", "_tree.py"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_edge(path):
    bad = sorted(
        m
        for m in imported_gdgan_modules(path)
        if any(m == f"gdgan.{e}" or m.startswith(f"gdgan.{e}.") for e in EDGE)
    )
    assert not bad, f"{path.name} imports the edge: {bad}"


def test_structure_check_can_fail(tmp_path):
    """The AST walk resolves relative imports, so an edge import is seen."""
    fake = ROOT / "_fake_for_test.py"
    try:
        fake.write_text("from .systems import ring\nfrom . import plot\n")
        assert {"gdgan.systems", "gdgan.plot"} <= imported_gdgan_modules(fake)
    finally:
        fake.unlink()


PUBLIC = {
    "gdgan": [
        "Normal",
        "Uniform",
        "Dirac",
        "Mixture",
        "Empirical",
        "Quadrature",
        "MonteCarlo",
        "Game",
        "vector_field",
        "GradientPenalty",
        "Consensus",
        "R1",
        "R2",
        "WGANGP",
        "TimeScale",
        "SGA",
        "Unrolled",
        "stability",
        "Verdict",
        "jacobian",
        "rightmost_eigenvalues",
        "assumptions",
        "find_equilibrium",
        "simulate",
        "Outcome",
        "train",
        "sweep",
        "systems",
        "plot",
        "li_madry",
        "__version__",
    ],
    "gdgan.systems": ["dirac", "lq", "uniform", "ring", "two_gaussians", "get", "names", "System"],
    "gdgan.plot": ["phase_portrait", "time_series", "eigenvalues", "basins", "stability_region"],
    "gdgan.li_madry": ["tv", "first_order", "optimal", "grid", "random_disc"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_import(module):
    mod = importlib.import_module(module)
    missing = [n for n in PUBLIC[module] if not hasattr(mod, n)]
    assert not missing, f"{module} lacks {missing}"
