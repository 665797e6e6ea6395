"""Command line: `python -m analysis [run|simulate|crosscheck|export-r|init-config|bench|montecarlo] ...`.

Exit status: 0 success (exhibits the data do not allow are listed as not run); 2 bad input
or configuration (one line `error: ...` on stderr, no traceback unless --debug); 3 a
cross-check outside its tolerance or a verify that found a difference; 4 a run that wrote
what succeeded while a part of it (an exhibit, a table, a figure, the report) failed; 1 an
internal failure."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from analysis.errors import AnalysisError, InputError, describe
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
    run.add_argument(
        "--strict",
        action="store_true",
        help="all or nothing: any failing part ends the run with nothing written",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        help="run the DML cross-fitting on a Dask LocalCluster of K worker processes "
        "(same outputs; default: no Dask, [dml] n_jobs local processes)",
    )
    where.add_argument(
        "--scheduler",
        help="run the DML cross-fitting on the Dask cluster at this address (tcp://HOST:8786); "
        "see README, 'Running on a cluster'",
    )
    sim = sub.add_parser("simulate", help="write a simulated raw panel and FILE.truth.json")
    sim.add_argument("--seed", type=int, required=True)
    sim.add_argument("--out", type=Path, required=True)
    init = sub.add_parser(
        "init-config", help="a starting configuration for your panel, guessed from its header"
    )
    init.add_argument("data", type=Path, help="your panel: csv, xlsx, dta or parquet")
    init.add_argument("--out", type=Path, required=True, help="the configuration to write (.toml)")
    init.add_argument("--force", action="store_true", help="replace --out if it exists")
    cc = sub.add_parser("crosscheck", help="the R cross-check of a finished run")
    cc.add_argument("--out", type=Path, default=Path("output"))
    ex = sub.add_parser(
        "export-r", help="write DIR/replicate.R: the R cross-check of a finished run in plain R"
    )
    ex.add_argument("dir", type=Path)
    ver = sub.add_parser(
        "verify",
        help="re-run a finished run from its manifest (or take --against OTHER) and tell "
        "identical, equal within tolerance and different files apart",
    )
    ver.add_argument("dir", type=Path)
    ver.add_argument("--against", type=Path, help="compare with this finished run, no re-run")
    sub.add_parser("exhibits", help="print the exhibit map (Markdown) of the README")
    bench = sub.add_parser(
        "bench", help="seconds per stage and the pipeline against a bare pyfixest call"
    )
    bench.add_argument(
        "--scale",
        action="store_true",
        help="DID stages and one DML specification on synthetic panels of 1e4, 1e5, 1e6 rows",
    )
    bench.add_argument(
        "--study",
        action="store_true",
        help="with --scale: the whole study (every exhibit, the study's learners) on any-unit "
        "simulated panels, seconds and peak memory per stage side by side",
    )
    bench.add_argument(
        "--sizes",
        help="with --scale --study: comma-separated panel sizes in rows (default 4000,40000; "
        "e.g. 4000,40000,400000)",
    )
    bench.add_argument(
        "--dask",
        action="store_true",
        help="the DML exhibits on a county-sized simulated panel with the run's own pool, one "
        "Dask worker and --workers K (default 2): seconds, speed-up, same bytes",
    )
    bench.add_argument("--workers", type=int, help="with --dask: workers (default 2)")
    _montecarlo_parser(sub)
    return p


def _montecarlo_parser(sub: argparse._SubParsersAction) -> None:
    mc = sub.add_parser(
        "montecarlo", help="replications of the simulation through the estimators, on Dask"
    )
    mc.add_argument(
        "--reps",
        required=True,
        help="replications per design: N, or N with DESIGN=M entries for other counts "
        "(e.g. 200,study=500)",
    )
    mc.add_argument(
        "--design",
        help="design(s), comma-separated, or 'all' (default: study); see analysis/simulation/designs.py",
    )
    mc.add_argument(
        "--estimators",
        help="estimator ids or the sets 'did' and 'dml', comma-separated (default: all)",
    )
    where = mc.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="LocalCluster workers (default: one per core; 0: no Dask)"
    )
    where.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://HOST:8786)")
    mc.add_argument(
        "--out", type=Path, default=Path("output/montecarlo"), help="default: output/montecarlo/"
    )
    mc.add_argument("--seed", type=int, help="base seed (default: [run] seed of the configuration)")
    mc.add_argument("--chunk-size", type=int, default=5, help="replications per task (default 5)")
    mc.add_argument(
        "--dml",
        default="cheap",
        help="DML learners: 'cheap' (default: Lasso, linear nuisances) or 'configured' ([dml])",
    )
    mc.add_argument(
        "--placebo-permutations", type=int, default=199, help="per replication (default 199)"
    )


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "run"
    if command == "run":
        from analysis.pipeline import not_run_lines, run

        only = getattr(args, "only", None)
        result = run(
            getattr(args, "data", None),
            getattr(args, "config", None),
            getattr(args, "out", Path("output")),
            getattr(args, "seed", None),
            tuple(s.strip() for s in only.split(",")) if only else None,
            strict=getattr(args, "strict", False),
            workers=getattr(args, "workers", None),
            scheduler=getattr(args, "scheduler", None),
        )
        from analysis.render.findings import terminal_lines

        for line in not_run_lines(result.not_run):
            print(line, file=sys.stderr)
        for part, error in result.failed.items():
            print(f"failed: {part}: {error} (details in run.log)", file=sys.stderr)
        for line in terminal_lines(result.out):
            print(line)
        print(f"wrote {result.out}/")
        return result.status
    if command == "simulate":
        from analysis.simulation.dgp import write_simulation

        if args.out.suffix.lower() != ".csv":
            raise InputError(f"--out {args.out}: the simulated panel is written as .csv")
        panel, truth = write_simulation(args.out, args.seed)
        print(f"wrote {panel} and {truth} (SIMULATED DATA)")
        return 0
    if command == "init-config":
        from analysis.initconfig.command import main as init_config

        return init_config(args.data, args.out, args.force)
    if command == "crosscheck":
        from rbridge.crosscheck import main as crosscheck

        return crosscheck(args.out)
    if command == "export-r":
        from rbridge.export import main as export_r

        return export_r(args.dir)
    if command == "verify":
        from analysis.verify.command import main as verify

        return verify(args.dir, args.against)
    if command == "exhibits":
        from analysis.catalogue import markdown_map

        print(markdown_map(), end="")
        return 0
    if command == "montecarlo":
        from analysis.montecarlo.run import from_args

        out = from_args(args)
        print(f"wrote {out}/ (SIMULATED DATA)")
        return 0
    if command == "bench":
        if (args.study or args.sizes) and not args.scale:
            raise InputError("bench: --study and --sizes go with --scale (bench --scale --study)")
        if args.sizes and not args.study:
            raise InputError("bench --scale: --sizes goes with --study")
        if args.workers is not None and not args.dask:
            raise InputError("bench: --workers goes with --dask (bench --dask --workers 2)")
        if args.dask:
            if args.scale:
                raise InputError("bench: --dask and --scale are separate benches; give one")
            workers = 2 if args.workers is None else args.workers
            if workers < 2:
                raise InputError(f"bench --dask --workers {workers}: must be 2 or more")
            from analysis.bench.dask_speedup import main as bench_dask

            return bench_dask(workers=workers)
        if args.study:
            from analysis.bench.study import main as bench_study
            from analysis.bench.study import parse_sizes

            return bench_study(parse_sizes(args.sizes))
        if args.scale:
            from analysis.bench.scale import main as bench_scale

            return bench_scale()
        from analysis.bench.stages import main as bench

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
    except Exception as exc:  # a defect, or a library failing where it should not
        if args.debug:
            traceback.print_exc()
        print(
            f"error: internal failure: {describe(exc)} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
