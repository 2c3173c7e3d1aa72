"""The documentation cannot rot: the site builds strictly, every public name is documented,
`__all__` is exact, no docstring points at a file that does not exist, packaging metadata
agrees with the code."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import pathlib
import re
import subprocess
import sys
import typing

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLIC_MODULES = ("gdgan", "gdgan.plot", "gdgan.systems", "gdgan.li_madry")
API_DIR = ROOT / "docs" / "api"


def documented_names() -> set[str]:
    """Every `::: dotted.name` in the API pages."""
    names = set()
    for page in API_DIR.glob("*.md"):
        names |= set(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(encoding="utf-8"), re.M))
    return names


# --------------------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: install the docs extra (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    env.pop("GDGAN_DOCS_EXECUTE", None)  # the notebooks are executed by test_notebooks.py
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    return out


def test_strict_build_has_every_section(site):
    for page in [
        "index.html",
        "getting-started/index.html",
        "theory/index.html",
        "how-to/own-networks/index.html",
        "how-to/stabilisers/index.html",
        "how-to/sweeps/index.html",
        "how-to/matrix-free/index.html",
        "how-to/gpu/index.html",
        "reproductions/index.html",
        "api/index.html",
        "cli/index.html",
        "benchmarks/index.html",
        "cite/index.html",
        "notebooks/quickstart/index.html",
    ]:
        assert (site / page).is_file(), page
    # maths is marked up for MathJax, and MathJax itself is part of the site (offline)
    theory = (site / "theory" / "index.html").read_text(encoding="utf-8")
    assert theory.count('class="arithmatex"') > 50
    assert (site / "javascripts" / "tex-svg-full.js").stat().st_size > 1_000_000


def test_cli_reference_is_generated_from_the_parser(site):
    spec = importlib.util.spec_from_file_location("gdgan_docs_hooks", ROOT / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    html = (site / "cli" / "index.html").read_text(encoding="utf-8")
    commands = hooks._subcommands(hooks._find_parser())
    assert {"spectrum", "simulate", "sweep", "reproduce"} <= set(commands)
    for name, sub in commands.items():
        assert f'id="gdgan-{name}"' in html, name
        for action in sub._actions:  # every flag of every command is on the page
            for flag in action.option_strings:
                assert flag in html, f"gdgan {name} {flag}"


def test_api_pages_render_every_documented_name(site):
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    for name in documented_names():
        assert f'id="{name}"' in html, name


# --------------------------------------------------------------------------- API coverage


def test_every_public_name_is_documented():
    documented = documented_names()
    missing = []
    for modname in PUBLIC_MODULES:
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            target = getattr(obj, "__name__", None) if inspect.ismodule(obj) else None
            if target is not None:  # a public submodule: its own page documents it
                if target not in documented:
                    missing.append(target)
            elif f"{modname}.{name}" not in documented:
                missing.append(f"{modname}.{name}")
    assert not missing, f"public names without an entry under docs/api/: {missing}"


def test_documented_names_are_public():
    public = {"gdgan.plot", "gdgan.systems", "gdgan.li_madry"}
    for modname in PUBLIC_MODULES:
        public |= {f"{modname}.{n}" for n in importlib.import_module(modname).__all__}
    assert documented_names() - public == set()


def all_problems(mod) -> list[str]:
    """What is wrong with `mod.__all__`: duplicates, names the module lacks, and public gdgan
    objects in the module's namespace that `__all__` leaves out (helpers it merely imports,
    such as `jax` or `jnp`, are not gdgan objects and must stay out)."""
    names = list(getattr(mod, "__all__", None) or [])
    problems = [] if names else ["no __all__"]
    problems += [f"duplicate {n}" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"{n} is not an attribute" for n in names if not hasattr(mod, n)]
    problems += [
        f"{n} is not gdgan's"
        for n in names
        if inspect.ismodule(getattr(mod, n, None))
        and not getattr(mod, n).__name__.startswith("gdgan")
    ]
    for name, obj in vars(mod).items():
        if name.startswith("_") or name in names:
            continue
        origin = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)
        private_module = inspect.ismodule(obj) and obj.__name__.rsplit(".", 1)[-1][0] == "_"
        if isinstance(origin, str) and origin.split(".")[0] == "gdgan" and not private_module:
            problems.append(f"{name} is public but missing from __all__")
    return problems


@pytest.mark.parametrize("modname", PUBLIC_MODULES)
def test_all_is_exact(modname):
    assert all_problems(importlib.import_module(modname)) == []


def test_all_check_can_fail():
    """The check above notices a forgotten name, a duplicate and a stray entry."""
    import types

    import gdgan

    mod = types.ModuleType("gdgan.fake")
    mod.vector_field, mod.stability, mod.np = (
        gdgan.vector_field,
        gdgan.stability,
        __import__("numpy"),
    )
    mod.__all__ = ["vector_field", "vector_field", "ghost", "np"]
    assert all_problems(mod) == [
        "duplicate vector_field",
        "ghost is not an attribute",
        "np is not gdgan's",
        "stability is public but missing from __all__",
    ]
    assert "jax" not in gdgan.__all__ and "jnp" not in gdgan.li_madry.__all__


# --------------------------------------------------------------------------- references


def test_docstrings_point_only_at_existing_files():
    """Docstrings cite the docs (e.g. "docs, Theory §5") or papers; a Markdown file they name
    under docs/ or benchmarks/ exists, and the old references to files outside the
    repository (theory.md, li_madry.md) are gone."""
    bad = []
    for path in (ROOT / "gdgan").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r"(?<![\w/])(theory\.md|li_madry\.md)", text):
            bad.append(f"{path.relative_to(ROOT)}: {ref}")
        for ref in re.findall(r"\b((?:docs|benchmarks)/[\w./-]+\.md)\b", text):
            if not (ROOT / ref).is_file():
                bad.append(f"{path.relative_to(ROOT)}: {ref}")
    assert not bad, bad


def test_readme_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert local, "the README links to the docs"
    for link in local:
        assert (ROOT / link).exists(), link


def test_readme_is_short_and_points_to_the_docs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    for section in ("## Install", "## How the code is organised", "make demo", "make test"):
        assert section in text, section
    assert "docs/" in text


# --------------------------------------------------------------------------- packaging


def test_version_metadata_and_citation_agree():
    import gdgan

    assert re.fullmatch(r"\d+\.\d+\.\d+", gdgan.__version__)
    assert importlib.metadata.version("gdgan") == gdgan.__version__
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(rf"^version: {re.escape(gdgan.__version__)}$", cff, re.M)
    assert re.search(r"^license: Apache-2\.0$", cff, re.M)


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a stub
    meta = importlib.metadata.metadata("gdgan")
    assert "Apache" in (meta.get("License") or meta.get("License-Expression") or "")


def test_declared_dependencies_cover_the_imports():
    """Every third-party module gdgan imports at top level is a declared dependency."""
    requires = importlib.metadata.requires("gdgan") or []
    core = {re.split(r"[<>=!;\[ ]", r)[0].lower() for r in requires if "extra ==" not in r}
    optional = {re.split(r"[<>=!;\[ ]", r)[0].lower() for r in requires if "extra ==" in r}
    dist_of = {"sklearn": "scikit-learn"}
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / "gdgan").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mods = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        mods |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module
        }
        for mod in sorted(mods):
            if mod in stdlib or mod in ("gdgan", "__future__"):
                continue
            dist = dist_of.get(mod, mod).lower()
            assert dist in core | optional, f"{path.relative_to(ROOT)} imports {mod}"
    assert {"jax", "diffrax", "equinox", "optax", "scipy", "jaxtyping", "numpy"} <= core
    meta = importlib.metadata.metadata("gdgan")
    assert meta["Requires-Python"] == ">=3.11"
    assert set(meta.get_all("Provides-Extra")) >= {"plot", "repro", "test", "docs", "export"}


# --------------------------------------------------------------------------- types


def _conforms(value, hint) -> bool:
    """`value` matches a jaxtyping annotation (shape rank, named sizes, dtype), or a tuple of
    them; other annotations are not checked here."""
    import jaxtyping

    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        return len(value) == len(args) and all(map(_conforms, value, args))
    if isinstance(hint, type) and issubclass(hint, jaxtyping.AbstractArray):
        return isinstance(value, hint)
    return True


def _jaxtyped_fields(cls):
    import jaxtyping

    hints = typing.get_type_hints(cls)
    return {
        k: h
        for k, h in hints.items()
        if isinstance(h, type) and issubclass(h, jaxtyping.AbstractArray)
    }


def test_jaxtyping_annotations_hold_on_real_results():
    """Every jaxtyping-annotated field of a public report, and every annotated return value,
    has the annotated rank and dtype on a real result (the annotations are not decoration)."""
    import jax
    import jax.numpy as jnp
    import optax

    import gdgan

    lq = gdgan.systems.get("lq", loss="gan")
    field = lq.field(gdgan.GradientPenalty(0.5))
    J = gdgan.jacobian(lq.field(), lq.equilibrium)
    paths = gdgan.sde(
        lq.game,
        lq.equilibrium,
        2.0,
        lr=0.01,
        batch=16,
        noise="fixed",
        key=jax.random.PRNGKey(1),
        n_paths=4,
    )
    reports = {
        gdgan.StabilityReport: gdgan.stability(field, lq.equilibrium),
        gdgan.Assumptions: gdgan.assumptions(lq.game, lq.equilibrium),
        gdgan.DiscreteStabilityReport: gdgan.discrete_stability(
            lq.field(), lq.equilibrium, optax.sgd(0.1)
        ),
        gdgan.CovarianceEstimate: gdgan.empirical_covariance(paths.ys),
        gdgan.BasinRadius: gdgan.basin_radius(
            field, lq.equilibrium, directions=2, r_max=0.5, key=jax.random.PRNGKey(0)
        ),
        gdgan.LyapunovCertificate: gdgan.lyapunov_certificate(
            lq.field(), lq.equilibrium, r_max=0.5
        ),
    }
    checked = 0
    for cls, rep in reports.items():
        for name, hint in _jaxtyped_fields(cls).items():
            assert _conforms(getattr(rep, name), hint), f"{cls.__name__}.{name}"
            checked += 1
    mu, mu_star = jnp.array([0.0, 1.0]), jnp.array([-0.5, 0.5])
    disc = gdgan.li_madry.random_disc(jax.random.PRNGKey(0))
    calls = [
        (gdgan.jacobian, J),
        (gdgan.stationary_covariance, gdgan.stationary_covariance(J, 0.01 * jnp.eye(2))),
        (gdgan.li_madry.objective, gdgan.li_madry.objective(mu, disc["l"], disc["r"], mu_star)),
        (gdgan.li_madry.gradients, gdgan.li_madry.gradients(mu, disc["l"], disc["r"], mu_star)),
        (gdgan.li_madry.best_response, gdgan.li_madry.best_response(mu, mu_star)),
        (gdgan.li_madry.tv, gdgan.li_madry.tv(mu, mu_star)),
        (gdgan.li_madry.optimal_gradient, gdgan.li_madry.optimal_gradient(mu, mu_star)),
    ]
    for fn, out in calls:
        assert _conforms(out, typing.get_type_hints(fn)["return"]), fn.__name__
        checked += 1
    assert checked >= 25
    # ... and the check can fail: eigenvalues are not a float (n, n) matrix
    rep = reports[gdgan.StabilityReport]
    assert not _conforms(rep.eigenvalues, _jaxtyped_fields(gdgan.StabilityReport)["jacobian"])
    assert not _conforms((mu,), typing.get_type_hints(gdgan.li_madry.best_response)["return"])
