"""The `gdgan` command line. It holds no logic the Python API lacks: each command parses,
calls the library, and prints a table or one JSON object (`--json`, schemas in
docs/cli-json.md).

Errors: a user's mistake (a `gdgan.GdganError`, raised by the library or by the parsing
here) is one line on stderr, `gdgan: error: name: expected …, got …`, and exit status 2; a
missing optional extra names the extra to install (exit 2); anything else is a bug: one
line saying so and how to see the traceback (`--traceback` or `GDGAN_TRACEBACK=1`), exit 1.

Commands live one group per module; each module has `register(sub)`, which adds its
subcommands to the `argparse` sub-parsers `sub` (see `COMMANDS`).
"""

from __future__ import annotations

import importlib
import os
import sys

from .._checks import GdganError
from ._common import EXTRAS, CLIError, Parser, add_traceback

EPILOG = (
    "Every command that computes numbers accepts --json (one JSON object on stdout; schemas "
    "in docs/cli-json.md). Bad input: one line and exit 2; an internal error: exit 1 (add "
    "--traceback or set GDGAN_TRACEBACK=1 to see it)."
)

#: The modules that add subcommands, in --help order. A new command group: a module in
#: this package with `register(sub)`, and one line here.
COMMANDS = (
    "_analysis",  # systems, spectrum, table
    "_time",  # simulate, train
    "_sweep",  # sweep
    "continuation",  # continue, orbit
    "_reproduce",  # reproduce
    "_bench_cmd",  # bench
)


def make_parser() -> Parser:
    from .. import __version__

    p = Parser(
        prog="gdgan", description="GAN training dynamics as dynamical systems.", epilog=EPILOG
    )
    p.add_argument("--version", action="version", version=f"gdgan {__version__}")
    p.add_argument(
        "--traceback",
        action="store_true",
        help="on an internal error, print the full traceback (or set GDGAN_TRACEBACK=1)",
    )
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    for sp in sub.choices.values():
        add_traceback(sp)
    return p


def _enable_x64():
    import jax

    jax.config.update("jax_enable_x64", True)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def main(argv=None) -> int:
    """Run `gdgan ARGV` and return the exit status (0 ok, 1 internal error or a claim not
    reproduced, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    show = "--traceback" in argv or os.environ.get("GDGAN_TRACEBACK", "") not in ("", "0")
    try:
        args = make_parser().parse_args(argv)
        _enable_x64()
        status = args.func(args)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        print("gdgan: interrupted", file=sys.stderr)
        return 130
    except GdganError as e:
        if show:
            import traceback

            traceback.print_exc()
        print(f"gdgan: error: {_first_line(e)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if e.name in EXTRAS:
            print(
                f"gdgan: error: {e.name}: expected the optional dependency to be installed, "
                f"got none (pip install 'gdgan[{EXTRAS[e.name]}]')",
                file=sys.stderr,
            )
            return 2
        return _internal(e, show)
    except OSError as e:  # the file system said no (permissions, disk full): not a bug
        where = e.filename if e.filename is not None else "file"
        print(
            f"gdgan: error: {where}: expected an accessible path, got {e.strerror or e}",
            file=sys.stderr,
        )
        return 2
    except Exception as e:  # noqa: BLE001 - a bug: say so, one line
        return _internal(e, show)
    return status if isinstance(status, int) else 0


def _internal(e: BaseException, show: bool) -> int:
    if show:
        import traceback

        traceback.print_exc()
    print(
        f"gdgan: internal error: {type(e).__name__}: {_first_line(e)} (this is a bug; "
        "rerun with --traceback or GDGAN_TRACEBACK=1 to see where)",
        file=sys.stderr,
    )
    return 1


__all__ = ["CLIError", "main", "make_parser"]
