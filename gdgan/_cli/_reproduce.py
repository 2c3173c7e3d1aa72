"""`gdgan reproduce`: the papers' claims, through `gdgan.reproduce` only."""

from __future__ import annotations

import sys

from ._common import Parser, add_json, check_out, dumps, positive_int, require_extra


def section_names() -> str:
    """The names `gdgan.reproductions()` lists, for --help (they need gdgan[repro])."""
    try:
        from .._reproduce import reproductions

        return ", ".join(reproductions())
    except ModuleNotFoundError as e:  # the modules draw with matplotlib
        return f"(install gdgan[repro] to list them: {e.name} is missing)"


class ReproduceParser(Parser):
    """Lists the section names in --help without importing them for every command."""

    def format_help(self):
        self.epilog = f"NAME is 'all' or one of: {section_names()}."
        return super().format_help()


def cmd_reproduce(args):
    from .._reproduce import reproduce

    require_extra("matplotlib")
    check_out("--out", args.out)
    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    sections = reproduce(
        args.name, out=args.out, quick=args.quick, log=log, jobs=args.jobs, resume=args.resume
    )
    if args.json:
        if len(sections) == 1:
            s = sections[0]
            obj = {"name": s.name, "kind": s.kind, "reproduced": bool(s.reproduced)}
            obj.update(verdict=s.verdict_label, reason=s.reason)
            obj.update(s.numbers)
        else:
            obj = {"sections": [s.to_json() for s in sections], "report": f"{args.out}/report.md"}
        print(dumps(obj))
    else:
        for s in sections:
            print(f"{s.name:<20} {s.verdict_label:<15} {s.reason}")
        print(f"report: {args.out}/report.md (and report.html)")
    failed = [s.name for s in sections if not s.reproduced]
    if failed:  # a broken claim (or an inconclusive question) fails `make demo`
        print(
            f"gdgan: {len(failed)} section(s) not reproduced: {', '.join(failed)}", file=sys.stderr
        )
        return 1
    return 0


def register(sub):
    sp = sub.add_parser(
        "reproduce",
        help="reproduce the papers' claims: figures and a report",
        description="Run reproductions (gdgan.reproduce): figures, report.md and report.html.",
    )
    sp.__class__ = ReproduceParser
    sp.add_argument("name", metavar="NAME", help="a reproduction name or 'all' (listed below)")
    sp.add_argument("--out", default="gdgan-out", help="output directory")
    sp.add_argument("--quick", action="store_true", help="small configurations (minutes)")
    sp.add_argument(
        "--jobs",
        type=positive_int("--jobs"),
        default=1,
        help="run up to this many reproductions at once in separate processes",
    )
    sp.add_argument(
        "--resume",
        action="store_true",
        help="reuse sections already finished in --out (same --quick setting)",
    )
    add_json(sp)
    sp.set_defaults(func=cmd_reproduce)
