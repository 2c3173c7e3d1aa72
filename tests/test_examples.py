"""Every example a reader can copy runs: the README's, the docs pages', every public docstring's.

- **README and docs pages** (`README.md`, `docs/**/*.md`): the ```` ```python ```` blocks of a
  page run top to bottom, in order, in a fresh Python process (so each page must be
  self-contained: imports, x64). Blocks fenced as ```` ```py ```` are shown, not run (they need
  a cluster or a script of the reader's). A block whose first line is `# requires: MOD` is
  skipped, with that reason, when `MOD` is not installed. Where a page puts a ```` ```text ````
  block right after a python block, that block is what the python block prints, and the
  printed output must match it (numbers compared to the digits shown).
- **Docstrings**: the ```` ```python ```` blocks of every name in the `__all__` of `gdgan`,
  `gdgan.plot`, `gdgan.systems` and `gdgan.li_madry`, and of the public methods and
  properties of public classes. Docstring examples are fragments that share the setup
  printed on the docs' API index page (`CONTEXT` below, the LQ WGAN: `game`, `field`,
  `y_star`, `y0`, ...); a few use names introduced in the sentence before them, which
  `EXTRA` defines. `SHRINK` scales down the few examples whose documented size takes minutes
  (every entry must match, so the table cannot go stale).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLIC_MODULES = ("gdgan", "gdgan.plot", "gdgan.systems", "gdgan.li_madry")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)

# The setup shared by every docstring example (printed on docs/api/index.md).
CONTEXT = """
import jax, jax.numpy as jnp, optax, gdgan
jax.config.update("jax_enable_x64", True)
key = jax.random.PRNGKey(0)
s = system = gdgan.systems.get("lq", loss="wgan")
game = s.game
y_star = s.equilibrium
y0 = s.init
field = s.field(gdgan.GradientPenalty(0.5))
"""

# Names that particular examples take from the text around them.
EXTRA = {
    "gdgan.empirical_covariance": """
g = gdgan.systems.get("lq", loss="gan")
out = gdgan.sde(g.game, g.equilibrium, 20.0, lr=0.05, batch=8, key=key, n_paths=8, noise="fixed")
""",
    "gdgan.stationary_covariance": """
g = gdgan.systems.get("lq", loss="gan")
J = gdgan.jacobian(g.field(), g.equilibrium)
Sigma = gdgan.gradient_covariance(g.game, g.equilibrium)
lr, b = 0.01, 16
""",
    "gdgan.mode_coverage": """
centers = jnp.array([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
samples = centers[jax.random.randint(key, (256,), 0, 4)] + 0.01 * jax.random.normal(key, (256, 2))
""",
    "gdgan.lattice": """
make = lambda p: gdgan.systems.dirac(loss="wgan")
""",
    "gdgan.plot": """
out = gdgan.simulate(system.field(), system.init, 20.0, y_star=system.equilibrium)
""",
    "gdgan.plot.basins": """
res = gdgan.sweep(lambda p: gdgan.systems.lq(loss="wgan"), {"eta": jnp.array([0.0, 0.5])},
                  regularizers=lambda p: [gdgan.GradientPenalty(p["eta"])],
                  inits=gdgan.box(0.5, 4), t1=20.0)
""",
    "gdgan.plot.stability_region": """
res = gdgan.sweep(lambda p: gdgan.systems.lq(sigma=p["sigma"], loss="wgan"),
                  {"eta": jnp.array([0.0, 0.5]), "sigma": jnp.array([0.5, 1.0])},
                  regularizers=lambda p: [gdgan.GradientPenalty(p["eta"])],
                  inits=gdgan.box(0.5, 2), t1=20.0)
""",
    "gdgan.plot.eigenvalues": """
rep0 = gdgan.stability(s.field(), y_star)
rep1 = gdgan.stability(s.field(gdgan.GradientPenalty(0.5)), y_star)
""",
    "gdgan.plot.time_series": """
out = gdgan.simulate(s.field(), s.init, 20.0, y_star=s.equilibrium)
""",
    "gdgan.estimate_period": """
def field(t, y, args):  # van der Pol: a limit cycle
    return {"disc": y["gen"], "gen": (1 - y["disc"] ** 2) * y["gen"] - y["disc"]}
y0 = {"disc": jnp.array(2.0), "gen": jnp.array(0.0)}
""",
    "gdgan.plot.bifurcation_diagram": """
def field_of(p):  # a supercritical Hopf point at p = 0
    return lambda t, y, args: {"disc": p * y["disc"] - y["gen"] - y["disc"] ** 3,
                               "gen": y["disc"] + p * y["gen"] - y["gen"] ** 3}
y0 = {"disc": jnp.array(0.0), "gen": jnp.array(0.0)}
""",
    "gdgan.li_madry.classify": """
mu_star = jnp.array([-0.5, 0.5])
mu0 = jnp.array([-1.0, 0.8])
disc0 = gdgan.li_madry.random_disc(key)
""",
    "gdgan.li_madry.gradients": """
mu_star = jnp.array([-0.5, 0.5])
mu, l, r = jnp.array([0.0, 1.0]), jnp.array([-1.0, 0.3]), jnp.array([0.2, 2.0])
""",
    "gdgan.li_madry.first_order_field": """
y0 = gdgan.li_madry.state(jnp.array([-1.0, 0.8]), disc=gdgan.li_madry.random_disc(key))
""",
}

# (qualified name, documented text, what the test runs instead): sizes only.
SHRINK = [
    ("gdgan.box", "gdgan.box(0.5, 1000)", "gdgan.box(0.5, 8)"),
    ("gdgan.sweep", "gdgan.box(0.5, 1000)", "gdgan.box(0.5, 4)"),
    ("gdgan.sweep", "jnp.linspace(0.0, 1.0, 11)", "jnp.linspace(0.0, 1.0, 3)"),
    ("gdgan.lattice", "gdgan.lattice(1.0, 41)", "gdgan.lattice(1.0, 5)"),
    ("gdgan.rightmost_eigenvalues", "width=512", "width=8"),
    ("gdgan.digits_system", ", 500,", ", 5,"),
    ("gdgan.basin_radius", "directions=32", "directions=4"),
    ("gdgan.li_madry.grid", "n=4, repeats=2", "n=2, repeats=1"),
    ("gdgan.sde", "200.0", "20.0"),
    ("gdgan.sde", "n_paths=64", "n_paths=8"),
]


# --------------------------------------------------------------------------- collection


def fenced_blocks(text: str):
    """`(language, code)` of every fenced block of a Markdown text or docstring."""
    return [(lang, textwrap.dedent(code)) for lang, code in FENCE.findall(text)]


def public_objects():
    """`(qualified name, object)` for every public name and public class member."""
    out, seen = [], set()
    for modname in PUBLIC_MODULES:
        mod = importlib.import_module(modname)
        out.append((modname, mod))
        for name in getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            out.append((f"{modname}.{name}", obj))
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_"):
                        out.append((f"{modname}.{name}.{member}", value))
    unique = []
    for qualname, obj in out:
        target = obj.fget if isinstance(obj, property) else obj
        if id(target) in seen:
            continue
        seen.add(id(target))
        unique.append((qualname, target))
    return unique


def docstring_examples():
    cases = []
    for qualname, obj in public_objects():
        doc = inspect.getdoc(obj) if not isinstance(obj, str) else None
        if not doc:
            continue
        blocks = [code for lang, code in fenced_blocks(doc) if lang == "python"]
        for i, code in enumerate(blocks):
            cases.append(pytest.param(qualname, code, id=f"{qualname}[{i}]"))
    return cases


DOCSTRING_EXAMPLES = docstring_examples()


def shrink(qualname: str, code: str) -> str:
    for name, old, new in SHRINK:
        if name == qualname:
            assert old in code, f"SHRINK entry for {qualname} is stale: {old!r} not in example"
            code = code.replace(old, new)
    return code


# --------------------------------------------------------------------------- docstrings


def test_there_are_docstring_examples():
    names = {p.values[0] for p in DOCSTRING_EXAMPLES}
    assert len(DOCSTRING_EXAMPLES) >= 50
    assert {"gdgan.vector_field", "gdgan.stability", "gdgan.simulate", "gdgan.sweep"} <= names


def test_shrink_and_extra_entries_name_real_examples():
    names = {p.values[0] for p in DOCSTRING_EXAMPLES}
    assert {name for name, _, _ in SHRINK} <= names
    assert set(EXTRA) <= names


@pytest.fixture(scope="module")
def context():
    ns: dict = {}
    exec(compile(CONTEXT, "<CONTEXT>", "exec"), ns)
    return ns


@pytest.mark.parametrize("qualname, code", DOCSTRING_EXAMPLES)
def test_docstring_example_runs(qualname, code, context, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    ns = dict(context)
    if qualname in EXTRA:
        exec(compile(EXTRA[qualname], f"<EXTRA {qualname}>", "exec"), ns)
    try:
        exec(compile(shrink(qualname, code), f"<example {qualname}>", "exec"), ns)
    finally:
        plt.close("all")


# --------------------------------------------------------------------------- pages


def page_script(path: pathlib.Path):
    """The runnable script of a Markdown page and the expected outputs, or a skip reason."""
    lines, expected = [], []
    blocks = fenced_blocks(path.read_text(encoding="utf-8"))
    for i, (lang, code) in enumerate(blocks):
        if lang != "python":
            continue
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        m = re.match(r"#\s*requires:\s*([\w.]+)", first)
        if m and importlib.util.find_spec(m.group(1)) is None:
            continue
        marker = f"__gdgan_block_{i}__"
        lines.append(f"print({marker!r})")
        lines.append(code)
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if nxt and nxt[0] == "text":
            expected.append((marker, nxt[1]))
    return "\n".join(lines), expected


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES_WITH_CODE = [p for p in PAGES if page_script(p)[0]]


def _numbers_match(got: str, want: str) -> bool:
    """`got` prints what `want` shows: the same words, numbers equal to the digits shown."""
    num = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
    tokens = re.split(f"({num})", want.strip())
    pattern = ""
    for i, tok in enumerate(tokens):
        if i % 2:
            digits = len(tok.split("e")[0].split(".")[1]) if "." in tok.split("e")[0] else 0
            pattern += f"(?P<n{i}>{num})"
            tokens[i] = (tok, digits)
        else:
            pattern += r"\s*" + r"\s*".join(re.escape(w) for w in tok.split()) + r"\s*"
    m = re.fullmatch(r"\s*" + pattern + r"\s*", got.strip())
    if not m:
        return False
    for i, tok in enumerate(tokens):
        if i % 2:
            shown, digits = tok
            if abs(float(m.group(f"n{i}")) - float(shown)) > 0.5 * 10.0 ** (-digits) * (1 + 1e-9):
                return False
    return True


def test_number_matcher_can_fail():
    assert _numbers_match("stable [-1.+1.7320508j]", "stable [-1.+1.732j]")
    assert not _numbers_match("stable [-1.+1.7420508j]", "stable [-1.+1.732j]")
    assert not _numbers_match("marginal [-1.+1.732j]", "stable [-1.+1.732j]")
    assert _numbers_match("a 0.50002\nconverged True", "a 0.5\nconverged True")
    assert not _numbers_match("a 0.56\nconverged True", "a 0.5\nconverged True")
    assert not _numbers_match("a 0.5\nconverged", "a 0.5\nconverged True")


def test_pages_have_examples():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES_WITH_CODE}
    assert {"README.md", "docs/getting-started.md", "docs/how-to/own-networks.md"} <= names


@pytest.mark.parametrize("path", PAGES_WITH_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_examples_run(path, tmp_path):
    script, expected = page_script(path)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("JAX_ENABLE_X64", None)  # a page must enable float64 itself
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{path.name}:\n{proc.stderr[-4000:]}"
    out = proc.stdout
    for marker, want in expected:
        start = out.index(marker) + len(marker)
        rest = out[start:]
        end = rest.find("__gdgan_block_")
        got = rest if end < 0 else rest[:end]
        assert _numbers_match(got, want), f"{path.name} prints\n{got}\nbut the page shows\n{want}"
