"""Command line: `python -m analysis [run|simulate|crosscheck|export-r|bench] ...`.

Exit status: 0 success; 2 bad input or configuration (one line `error: ...` on stderr, no
traceback unless --debug); 3 a cross-check outside its tolerance."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from analysis.errors import AnalysisError, InputError
from analysis.progress import set_quiet


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors on the terminal")
    p.add_argument("--verbose", action="store_true", help="debug messages on the terminal")
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run", help="the whole study (default)")
    run.add_argument(
        "--data",
        type=Path,
        help="raw panel: csv, xlsx, dta or parquet (default: the embedded simulated panel)",
    )
    run.add_argument("--config", type=Path, help="TOML configuration (default: data/study.toml)")
    run.add_argument(
        "--out", type=Path, default=Path("output"), help="output folder (default: output/)"
    )
    run.add_argument("--seed", type=int, help="seed (default: [run] seed of the configuration)")
    run.add_argument("--only", help="comma-separated exhibit ids to run (default: all)")
    sim = sub.add_parser("simulate", help="write a simulated raw panel and FILE.truth.json")
    sim.add_argument("--seed", type=int, required=True)
    sim.add_argument("--out", type=Path, required=True)
    cc = sub.add_parser("crosscheck", help="the R cross-check of a finished run")
    cc.add_argument("--out", type=Path, default=Path("output"))
    ex = sub.add_parser(
        "export-r", help="write DIR/replicate.R: the R cross-check of a finished run in plain R"
    )
    ex.add_argument("dir", type=Path)
    ver = sub.add_parser(
        "verify", help="re-run a finished run from its manifest and compare byte for byte"
    )
    ver.add_argument("dir", type=Path)
    sub.add_parser("exhibits", help="print the exhibit map (Markdown) of the README")
    sub.add_parser("bench", help="seconds per stage and the pipeline against a bare pyfixest call")
    return p


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "run"
    if command == "run":
        from analysis.pipeline import run

        only = getattr(args, "only", None)
        out = run(
            getattr(args, "data", None),
            getattr(args, "config", None),
            getattr(args, "out", Path("output")),
            getattr(args, "seed", None),
            tuple(s.strip() for s in only.split(",")) if only else None,
        )
        print(f"wrote {out}/")
        return 0
    if command == "simulate":
        from analysis.simulate import write_simulation

        if args.out.suffix.lower() != ".csv":
            raise InputError(f"--out {args.out}: the simulated panel is written as .csv")
        panel, truth = write_simulation(args.out, args.seed)
        print(f"wrote {panel} and {truth} (SIMULATED DATA)")
        return 0
    if command == "crosscheck":
        from rbridge.crosscheck import main as crosscheck

        return crosscheck(args.out)
    if command == "export-r":
        from rbridge.export import main as export_r

        return export_r(args.dir)
    if command == "verify":
        from analysis.verify import main as verify

        return verify(args.dir)
    if command == "exhibits":
        from analysis.catalogue import markdown_map

        print(markdown_map(), end="")
        return 0
    if command == "bench":
        from analysis.bench import main as bench

        return bench()
    raise AssertionError(command)


def _terminal_logging(quiet: bool, verbose: bool) -> None:
    """Stage messages on stderr (none with --quiet); run.log always gets them all."""
    logger = logging.getLogger("analysis")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for h in [h for h in logger.handlers if getattr(h, "_terminal", False)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._terminal = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _terminal_logging(args.quiet, args.verbose)
    set_quiet(args.quiet)
    try:
        return _dispatch(args)
    except AnalysisError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
