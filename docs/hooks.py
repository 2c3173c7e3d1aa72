"""mkdocs hooks for gdgan's documentation (wired in by `hooks:` in mkdocs.yml).

- The notebooks (jupytext py:percent files in `notebooks/`) are added to the site under
  `notebooks/`, before mkdocs-jupyter sees the file list, so they are rendered from the files
  the test suite executes rather than from copies that could drift.
- MathJax (the `django-static-mathjax` package of the `docs` extra) is copied into the site,
  so the maths renders offline.
- `<!-- gdgan-cli-reference -->` in a page is replaced by the `--help` text of every `gdgan`
  command, generated from the argparse parser at build time, so the CLI reference cannot go
  stale.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLI_MARKER = "<!-- gdgan-cli-reference -->"
MATHJAX_FILE = "tex-svg-full.js"


def _mathjax_source() -> pathlib.Path:
    try:
        import mathjax  # the django-static-mathjax distribution
    except ImportError as err:
        raise PluginError(
            "MathJax is missing: install the docs extra (pip install -e '.[docs]'), which "
            "provides django-static-mathjax"
        ) from err
    base = pathlib.Path(next(iter(mathjax.__path__)))
    path = base / "static" / "mathjax" / "es5" / MATHJAX_FILE
    if not path.is_file():
        raise PluginError(f"MathJax: expected {path} in the django-static-mathjax package")
    return path


@event_priority(100)  # before mkdocs-jupyter's on_files, which wraps the notebooks
def on_files(files, config):
    for path in sorted(NOTEBOOKS.glob("*.py")):
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(NOTEBOOKS.parent),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    files.append(
        File.generated(config, f"javascripts/{MATHJAX_FILE}", abs_src_path=str(_mathjax_source()))
    )
    return files


def on_config(config):
    # Executed notebooks (GDGAN_DOCS_EXECUTE=true, as `make docs` sets) run in smoke mode: seconds, not minutes.
    os.environ.setdefault("GDGAN_SMOKE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    return config


def _find_parser() -> argparse.ArgumentParser:
    import gdgan._cli as cli

    for name in ("make_parser", "build_parser", "parser"):
        make = getattr(cli, name, None)
        if callable(make):
            parser = make()
            if isinstance(parser, argparse.ArgumentParser):
                return parser
    raise PluginError("CLI reference: gdgan._cli has no make_parser() returning an ArgumentParser")


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        parser.print_help()
    return out.getvalue().rstrip()


def cli_reference() -> str:
    """The Markdown of the CLI reference: `gdgan --help`, then each command's `--help`."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "86"  # argparse wraps to $COLUMNS: the width of a code block
    try:
        parser = _find_parser()
        parts = ["## `gdgan`", "", "```text", _help(parser), "```", ""]
        for name, sub in _subcommands(parser).items():
            parts += [f"## `gdgan {name}`", "", "```text", _help(sub), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown
