"""Parsing and validation helpers shared by the command modules.

One convention everywhere: every value a flag takes is checked here (type, range,
finiteness) and a bad one is one line, `--flag: expected …, got …`; flags that do not apply
to the chosen mode are errors (`only_with`); every flag has help text and its
default is shown (`Formatter`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys

import numpy as np

from .._checks import GdganError, MissingExtraError

#: What `--progress` defaults to, said once for every command that has a bar.
PROGRESS_HELP = "progress bar on stderr (default: on when stderr is a terminal)"
#: Packages behind the optional extras (`pip install 'gdgan[EXTRA]'`).
EXTRAS = {"matplotlib": "plot", "sklearn": "repro", "xarray": "export", "pandas": "export"}


class CLIError(GdganError, ValueError):
    """A one-line user error found by the command line itself."""


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows `(default: …)` after every flag's help unless the help already says it (flags
    whose default depends on the mode say it in their text); a switch's default is `off`."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._VersionAction)):
            return text if action.default is not False else text + " (default: off)"
        if action.default is None:  # flags whose None means more say so in their help
            return text + " (default: none)"
        return text + " (default: %(default)s)"


_ARG = re.compile(r"^argument ([^:]+): (.*)$", re.S)
_CHOICE = re.compile(r"^invalid choice: '?(.*?)'? \(choose from (.*)\)$", re.S)


def _one_line(message: str) -> str:
    """argparse's messages in the form `name: expected …, got …`."""
    m = _ARG.match(message)
    if m:
        name, rest = m.group(1).split("/")[0], m.group(2)
        if rest.startswith(name + ":"):  # our own type checks already name the flag
            return rest
        c = _CHOICE.match(rest)
        if c:
            return f"{name}: expected one of {c.group(2)}, got {c.group(1)!r}"
        if rest.startswith("ignored explicit argument "):
            return f"{name}: expected no value, got {rest.split(' ', 3)[3]}"
        if rest.startswith("expected"):
            return f"{name}: {rest}, got none"
        return f"{name}: {rest}"
    if message.startswith("the following arguments are required:"):
        names = message.split(":", 1)[1].strip()
        return f"{names}: expected a value, got none (see --help)"
    if message.startswith("unrecognized arguments:"):
        got = message.split(":", 1)[1].strip()
        return f"arguments: expected this command's flags (see --help), got {got!r}"
    return message


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, no usage dump
        raise CLIError(_one_line(message))


# -- values ---------------------------------------------------------------------------------
def _describe(kind, low, low_open, high, high_open):
    noun = "integer" if kind is int else "number"
    if high is None and low == 0:
        return f"a positive {noun}" if low_open else f"a non-negative {noun}"
    if high is None and low is None:
        return f"a finite {noun}" if kind is float else "an integer"
    if high is None:
        return f"{'an' if noun == 'integer' else 'a'} {noun} {'>' if low_open else '>='} {low}"
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    return f"{'an' if noun == 'integer' else 'a'} {noun} in {lo}{low}, {high}{hi}"


def number(flag, kind=float, low=None, low_open=False, high=None, high_open=False):
    """An argparse `type=` that accepts a finite `kind` in the given range, or fails with
    `flag: expected …, got …`."""
    expected = _describe(kind, low, low_open, high, high_open)

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: expected {expected}, got {text!r}") from None
        if kind is int and high is None and abs(value) >= 2**31:
            raise argparse.ArgumentTypeError(  # counts and sizes feed int32 JAX arrays
                f"{flag}: expected {expected} below 2**31, got {text!r}"
            )
        ok = kind is int or math.isfinite(value)
        ok = ok and (low is None or (value > low if low_open else value >= low))
        ok = ok and (high is None or (value < high if high_open else value <= high))
        if not ok:
            raise argparse.ArgumentTypeError(f"{flag}: expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse's fallback message names the type
    return parse


def positive(flag):
    return number(flag, float, 0, True)


def nonnegative(flag):
    return number(flag, float, 0)


def positive_int(flag):
    return number(flag, int, 0, True)


def nonnegative_int(flag):
    return number(flag, int, 0)


def seed(flag="--seed"):
    return number(flag, int, 0, high=2**32, high_open=True)


def parse_value(text: str):
    """`"3"` -> 3, `"0.5"` -> 0.5, anything else stays a string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items, flag="--param") -> dict:
    """`K=V` items (repeatable flag) -> {K: V}; numbers must be finite, keys unique."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CLIError(f"{flag}: expected KEY=VALUE, got {item!r}")
        if key in out:
            raise CLIError(f"{flag}: expected each key once, got {key!r} twice")
        v = parse_value(value)
        if isinstance(v, float) and not math.isfinite(v):
            raise CLIError(f"{flag}: {key}: expected a finite number, got {value!r}")
        out[key] = v
    return out


# -- mode checks ----------------------------------------------------------------------------
def only_with(args, flag: str, condition: bool, when: str, got: str):
    """An error when `flag` was given (not None / False) although it applies only `when`:
    `--lr: expected only with --steps, got it without --steps`."""
    value = getattr(args, flag.lstrip("-").replace("-", "_"))
    if value is not None and value is not False and not condition:
        raise CLIError(f"{flag}: expected only {when}, got it {got}")


def default(args, name: str, value):
    """Fill a mode-dependent flag left at None with its default."""
    if getattr(args, name) is None:
        setattr(args, name, value)


# -- shared flags ---------------------------------------------------------------------------
def add_json(sp):
    sp.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout (docs/cli-json.md)"
    )


def add_traceback(sp):
    sp.add_argument(
        "--traceback",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on an internal error, print the full traceback (or set GDGAN_TRACEBACK=1) "
        "(default: off)",
    )


def add_system(sp, eta=True):
    """SYSTEM, --loss, --param and (unless `eta=False`) --eta: one meaning everywhere."""
    sp.add_argument("system", metavar="SYSTEM", help="a built-in system (see `gdgan systems`)")
    sp.add_argument(
        "--loss",
        help="gan | wgan | nsgan | lsgan | hinge (default: the system's own loss)",
    )
    sp.add_argument(
        "--param",
        action="append",
        metavar="K=V",
        help="system parameter, e.g. sigma=2 (repeatable; default: the system's own, see "
        "`gdgan systems`)",
    )
    if eta:
        sp.add_argument(
            "--eta",
            type=nonnegative("--eta"),
            default=0.0,
            help="gradient-penalty strength η (Nagarajan & Kolter 2017); 0 = none",
        )


def add_progress(sp):
    sp.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help=PROGRESS_HELP
    )


def progress(args) -> bool:
    """`--progress/--no-progress` if given, else on exactly when stderr is a terminal."""
    if getattr(args, "progress", None) is not None:
        return bool(args.progress)
    return sys.stderr.isatty()


# -- systems --------------------------------------------------------------------------------
def build_system(name: str, loss: str | None, params: dict):
    from .. import systems

    if name not in systems.REGISTRY:
        raise CLIError(f"system: expected one of {systems.names()}, got {name!r}")
    if loss is not None:
        if "loss" not in systems.parameters(name):
            raise CLIError(
                f"--loss: expected none for {name!r} (its objective is fixed), got {loss!r}"
            )
        params = {**params, "loss": loss}
    return systems.get(name, **params)


def regularizers_from(args):
    from .._regularizers import GradientPenalty

    if not getattr(args, "eta", 0.0):
        return []
    return [GradientPenalty(args.eta, unbiased=bool(getattr(args, "unbiased_penalty", False)))]


def require_extra(module: str):
    """Fail before any compute when an optional dependency is missing (one line, exit 2)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"{module}: expected the optional dependency to be installed, got none "
            f"(pip install 'gdgan[{EXTRAS[module]}]')"
        )


# -- output ---------------------------------------------------------------------------------
def check_out(flag: str, path, create: bool = False) -> None:
    """Fail before any compute when `path` cannot be a writable directory; `create`: make
    it now (else nothing is created here)."""
    import os

    p = os.path.abspath(str(path))
    if os.path.exists(p) and not os.path.isdir(p):
        raise CLIError(f"{flag}: expected a directory, got the file {str(path)!r}")
    if create:
        try:
            os.makedirs(p, exist_ok=True)
        except OSError as e:
            raise CLIError(
                f"{flag}: expected a writable directory, got {str(path)!r} ({e.strerror})"
            ) from None
    parent = p
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{flag}: expected a writable directory, got {str(path)!r}")


def jsonable(x):
    """`x` with NaN/inf as None and numpy scalars/arrays as Python values (valid JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x + 0.0 if math.isfinite(x) else None
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return jsonable(np.asarray(x).tolist())
    if x is None or isinstance(x, str):
        return x
    return str(x)


def dumps(obj, **kw) -> str:
    return json.dumps(jsonable(obj), allow_nan=False, **kw)


def emit(obj, as_json: bool, text: str):
    print(dumps(obj) if as_json else text)


def num(x):
    """A finite float, or None."""
    x = float(x)
    return x if math.isfinite(x) else None
