"""`python -m analysis montecarlo`: replications of the simulation through the study's
estimators, on Dask, stored as they finish, summarised against the truth.

    python -m analysis montecarlo --reps N[,DESIGN=M...] [--design NAME[,NAME...]] [--estimators IDS]
        [--workers K | --scheduler tcp://HOST:8786] [--out DIR] [--seed S] [--chunk-size C]
        [--dml cheap|configured] [--placebo-permutations P]

Replications 0..N-1 of each design (M for a design named in `--reps`, e.g. `200,study=500`)
that are not yet stored in DIR/chunks are run; then every
output of DIR is made again from everything stored there (all designs). Running the same
command again after an interruption resumes; a larger N adds replications.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis.config import DATA_DIR, Config, load_config
from analysis.errors import InputError, choices, suggest
from analysis.manifest import git_state, inputs, versions
from analysis.montecarlo import outputs
from analysis.montecarlo.engine import cluster, run_all
from analysis.montecarlo.estimators import DEFAULT, ESTIMATORS, GROUPS
from analysis.montecarlo.replicate import Chunk, ChunkResult
from analysis.montecarlo.settings import MCSettings, describe
from analysis.montecarlo.store import store_for, stores
from analysis.simulation.designs import DESIGNS, design

log = logging.getLogger("analysis")
SEED_RULE = "seed of replication r = np.random.SeedSequence([base_seed, r]).generate_state(1)[0]"
EXTRA_PACKAGES = ("dask", "distributed", "pyarrow", "threadpoolctl")


@dataclass(frozen=True)
class Request:
    """The command's options, checked."""

    reps: int
    designs: tuple[str, ...] = ("study",)
    estimators: tuple[str, ...] = DEFAULT
    workers: int | None = None
    scheduler: str | None = None
    out: Path = Path("output/montecarlo")
    seed: int | None = None
    chunk_size: int = 5
    settings: MCSettings = MCSettings()
    # Designs run to another number of replications than `reps`: (design, reps) pairs.
    reps_by_design: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name, n in (("", self.reps), *self.reps_by_design):
            if n < 1:
                raise InputError(f"--reps {name + '=' if name else ''}{n}: must be at least 1")
        for name, _ in self.reps_by_design:
            if name not in self.designs:
                raise InputError(
                    f"--reps {name}=...: design '{name}' is not run (--design "
                    f"{','.join(self.designs)}); name it in --design or drop it from --reps"
                )
        if self.chunk_size < 1:
            raise InputError(f"--chunk-size {self.chunk_size}: must be at least 1")
        if self.workers is not None and self.workers < 0:
            raise InputError(f"--workers {self.workers}: must be 0 (no Dask) or more")
        if self.seed is not None and self.seed < 0:
            raise InputError(f"--seed {self.seed}: must be 0 or more")
        for name in self.designs:
            design(name)
        for est in self.estimators:
            if est not in ESTIMATORS:
                raise InputError(
                    f"--estimators: unknown estimator '{est}'{suggest(est, ESTIMATORS)}; "
                    f"allowed: {choices(ESTIMATORS)}"
                )


def parse_reps(text: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """`--reps`: a count for every design, and DESIGN=COUNT entries that override it
    (`200,study=500`); a text without a bare count is an error."""
    default: int | None = None
    by_design: dict[str, int] = {}
    for item in (s.strip() for s in str(text).split(",") if s.strip()):
        name, _, count = item.rpartition("=")
        if not count.strip().lstrip("-").isdigit():
            raise InputError(
                f"--reps: '{item}' is not a whole number; allowed: N or DESIGN=N, "
                "comma-separated (e.g. 200,study=500)"
            )
        if not name:
            if default is not None:
                raise InputError(f"--reps {text}: two counts for every design; give one")
            default = int(count)
            continue
        name = name.strip()
        if name in by_design:
            raise InputError(f"--reps {text}: design '{name}' is given twice")
        if name not in DESIGNS:
            raise InputError(
                f"--reps: unknown design '{name}'{suggest(name, DESIGNS)}; "
                f"allowed: {choices(DESIGNS)}"
            )
        by_design[name] = int(count)
    if default is None:
        raise InputError(
            f"--reps {text}: give the count of the other designs too (e.g. 200,{text})"
        )
    return default, tuple(by_design.items())


def names(
    text: str | None,
    allowed: dict[str, Any],
    default: tuple[str, ...],
    groups: dict[str, tuple[str, ...]] | None = None,
) -> tuple[str, ...]:
    """A comma-separated option as names in the registry's order: `all` for every one, a
    group's name for its members; unknown names are kept (and refused by Request)."""
    if not text:
        return default
    listed: list[str] = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        listed += list(allowed) if item == "all" else list((groups or {}).get(item, (item,)))
    return tuple(n for n in allowed if n in listed) + tuple(
        dict.fromkeys(n for n in listed if n not in allowed)
    )


def spec(name: str, base_seed: int, req: Request, cfg: Config) -> dict[str, Any]:
    """What a design's stored replications were made with (a resume must match it)."""
    config = {k: v for k, v in cfg.to_dict().items() if k not in ("seed", "source")}
    dgp = {k: v for k, v in asdict(DESIGNS[name].dgp(0)).items() if k != "seed"}
    return {
        "design": name,
        "dgp": dgp,
        "base_seed": base_seed,
        "estimators": list(req.estimators),
        "settings": req.settings.to_dict(),
        "config": config,
    }


def _seconds(out: Path) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for _, store in stores(out):
        secs = [s for line in store.timings() for s in line["seconds"]]
        if secs:
            per[str(store.folder.relative_to(out))] = {
                "replications_timed": len(secs),
                "total": round(sum(secs), 1),
                "mean_per_replication": round(sum(secs) / len(secs), 2),
            }
    return per


def run(req: Request) -> Path:
    t0 = time.perf_counter()
    cfg = load_config(seed=req.seed)
    base_seed = cfg.seed
    sets = {"all": DEFAULT, **GROUPS}
    by_design = {n: store_for(req.out, n, req.estimators, sets) for n in req.designs}
    chunks = []
    for name, design_store in by_design.items():
        design_store.open(spec(name, base_seed, req, cfg))
        reps = dict(req.reps_by_design).get(name, req.reps)
        for start, stop in design_store.plan(reps, req.chunk_size):
            chunks.append(Chunk(name, start, stop, base_seed, req.estimators, req.settings, cfg))
    # Designs interleaved (chunk 0 of every design, then chunk 1, ...): an interrupted run has
    # about as many replications of each design.
    chunks.sort(key=lambda c: (c.start, list(DESIGNS).index(c.design)))
    todo = sum(c.stop - c.start for c in chunks)
    where: dict[str, Any] = {"kind": "none (nothing to run)"}
    commit = git_state()
    if chunks:
        log.info("Monte Carlo: %d replications to run in %d chunks", todo, len(chunks))

        def keep(result: ChunkResult) -> None:
            by_design[result.chunk.design].write(result, {"git": commit})

        with cluster(req.workers, req.scheduler) as (runner, info):
            where = info.describe()
            run_all(runner, chunks, keep)
    wall = round(time.perf_counter() - t0, 1)
    made_by: dict[str, Any] = {
        "command": " ".join(["python -m analysis", *sys.argv[1:]]),
        "git": commit,
        "cluster": where,
        "seconds": {"this_command": wall, "replications_run_by_this_command": todo},
    }
    if not chunks:  # nothing ran: the manifest keeps the command that made the replications
        made_by = _made_by(req.out / "manifest.json", made_by)
    manifest = {
        "data": {"simulated": True},
        "command": made_by["command"],
        "base_seed": base_seed,
        "seed_rule": SEED_RULE,
        "stores": {str(s.folder.relative_to(req.out)): s.spec() for _, s in stores(req.out)},
        "monte_carlo_configuration": describe(cfg, req.settings),
        "git": made_by["git"],
        "versions": versions(EXTRA_PACKAGES),
        "inputs": _in_repository(
            inputs(
                {
                    "config": Path(cfg.source),
                    "cities": DATA_DIR / "cities.csv",
                    "pilot_zones": DATA_DIR / "pilot_zones.csv",
                }
            )
        ),
        "cluster": made_by["cluster"],
        "seconds": {
            **made_by["seconds"],
            "per_store (wall seconds of each replication on its worker)": _seconds(req.out),
        },
    }
    outputs.write(req.out, cfg.inference.level, describe(cfg, req.settings), manifest)
    log.info("Monte Carlo: %d replications run in %.1f s; outputs in %s", todo, wall, req.out)
    return req.out


def _made_by(previous: Path, current: dict[str, Any]) -> dict[str, Any]:
    """The command, commit, cluster and seconds of the run that made the stored
    replications, from the manifest it wrote (`current` when there is none)."""
    try:
        old = json.loads(previous.read_text(encoding="utf-8"))
        seconds = old["seconds"]
        return {
            "command": old["command"],
            "git": old["git"],
            "cluster": old["cluster"],
            "seconds": {
                k: seconds[k] for k in ("this_command", "replications_run_by_this_command")
            },
        }
    except (OSError, ValueError, KeyError, TypeError):
        return current


def from_args(args: Any) -> Path:
    """The command line's options as a Request, run."""
    reps, reps_by_design = parse_reps(args.reps)
    req = Request(
        reps=reps,
        reps_by_design=reps_by_design,
        designs=names(args.design, DESIGNS, ("study",)),
        estimators=names(args.estimators, ESTIMATORS, DEFAULT, GROUPS),
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        seed=args.seed,
        chunk_size=args.chunk_size,
        settings=MCSettings(placebo_permutations=args.placebo_permutations, dml=args.dml),
    )
    return run(req)


def _in_repository(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Input paths inside the repository written relative to it, so that a committed
    Monte Carlo names no folder of the machine that ran it."""
    root = DATA_DIR.parent.resolve()
    out = {}
    for role, entry in found.items():
        path = Path(entry["path"]).resolve()
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        out[role] = {**entry, "path": shown}
    return out
