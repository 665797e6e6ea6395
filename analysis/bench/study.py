"""`python -m analysis bench --scale --study`: the whole study (every exhibit, the study's
learners) on any-unit simulated panels of growing size (analysis/simulation/units.py:
counties with three controls, a mechanism and a moderator of their own; SIMULATED), with
seconds and peak memory per stage and each stage's cost per row relative to the smallest
size, side by side.

Each size runs in its own process (`python -m analysis.bench.study ROWS`), which writes the
panel as a user's CSV, runs `python -m analysis run` on it in-process (the pipeline itself:
loading, every exhibit, tables, figures, report) and prints one JSON line with the stages'
seconds and peak memory (manifest.json: `seconds`, `peak_memory_mb`, the resident memory of
the process and its DML workers, sampled every 250 ms).

The settings (SETTINGS) are the study's (data/study.toml) except where stated there: the
default run must take minutes, not hours. What they change is printed under the table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.errors import InputError

SIZES = (4_000, 40_000)
N_YEARS = 15
SEED = 20240527
# Address space of each size's process and of each of its workers (bytes): the study must fit
# in 8 GB; a size that needs more fails with MemoryError, reported in the table.
ADDRESS_SPACE = 9_000_000 * 1024
# Differences from data/study.toml, each with its reason (printed under the table).
CHANGES = {
    "[dml] fe_handling": (
        '["within"] (study: within and dummies): unit dummies are as many features as units, '
        "quadratic by construction (26,667 dummies at 4 x 10^5 rows)"
    ),
    "[dml] n_rep, did_n_rep": "2 (study: 10): the repetitions repeat the same work",
    "[model] controls": "ln_gdp_pc, finance, fiscal (the simulator's three controls)",
    "[model] mechanisms, moderators": "innovation, coastal (columns of the simulated file)",
    "[callaway_santanna] covariates": "ln_gdp_pc, finance",
}
SETTINGS = """[panel]
first_year = 2001
last_year = {last_year}
units = "any"

[columns]
city = "county"
year = "year"

[outcome]
column = "outcome"

[components]

[inputs]
gdp = "gdp"
population = "population"
loans = "loans"
fiscal_expenditure = "fiscal_expenditure"

[model]
controls = ["ln_gdp_pc", "finance", "fiscal"]
mechanisms = ["innovation"]
moderators = ["coastal"]

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"

[callaway_santanna]
covariates = ["ln_gdp_pc", "finance"]

[robustness]
drop_years = []

[dml]
fe_handling = ["within"]
n_rep = 2
did_n_rep = 2
"""


MIN_ROWS = 600  # 40 units of 15 years: the folds and cells of the study need some units


def parse_sizes(text: str | None) -> tuple[int, ...]:
    """--sizes: comma-separated row counts (default SIZES)."""
    if not text:
        return SIZES
    sizes = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part.isdigit() or int(part) < MIN_ROWS:
            raise InputError(
                f"--sizes: '{part}' is not a whole number of rows of at least {MIN_ROWS} "
                "(e.g. 4000,40000,400000)"
            )
        sizes.append(int(part))
    return tuple(sizes)


def write_inputs(folder: Path, rows: int, seed: int = SEED) -> tuple[Path, Path]:
    """The simulated panel of about `rows` rows (whole units of N_YEARS years) as a CSV with
    its truth, and the bench's configuration; returns (data, config)."""
    from analysis.simulation.units import simulate_units, truth

    n_units = max(40, round(rows / N_YEARS))
    frame = simulate_units(seed, n_units, n_years=N_YEARS, study=True)
    data = folder / "units.csv"
    frame.to_csv(data, index=False)
    data.with_suffix(".truth.json").write_text(
        json.dumps(truth(frame, study=True)), encoding="utf-8"
    )
    config = folder / "units.toml"
    config.write_text(SETTINGS.format(last_year=2001 + N_YEARS - 1), encoding="utf-8")
    return data, config


def measure(rows: int) -> dict[str, Any]:
    """The whole study on one simulated panel, in this process."""
    import logging
    import warnings

    from analysis.pipeline import run

    warnings.simplefilter("ignore")
    logging.getLogger("analysis").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        data, config = write_inputs(Path(tmp), rows)
        t0 = time.perf_counter()
        result = run(data, config, Path(tmp) / "out")
        wall = time.perf_counter() - t0
        manifest = json.loads((result.out / "manifest.json").read_text(encoding="utf-8"))
    plr = [e for e in manifest["exhibits"] if e["id"] == "dml_plr"]
    learners = {
        model: t["seconds"] for model, t in (plr[0]["details"]["seconds"] if plr else {}).items()
    }
    return {
        "learner_seconds": learners,
        "rows": manifest["panel"]["rows"],
        "seconds": manifest["seconds"],
        "memory": manifest["peak_memory_mb"],
        "wall": wall,
        "not_run": [e["exhibit"] for e in manifest["not_run"]],
        "failed": {e["part"]: e["error"] for e in manifest["failed"]},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _child(rows: int) -> dict[str, Any]:
    """One size in its own process, its address space (and each worker's) capped."""
    cmd = [sys.executable, "-m", "analysis.bench.study", str(rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_limit_address_space)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"rows": rows, "error": f"exit {proc.returncode}: {tail}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _cell(
    sec: float | None, mb: float | None, base: float | None, rows: int, rows0: int, memory: bool
) -> str:
    """Seconds, peak MB (when `memory`) and cost per row / the smallest size's."""
    dash = "-" if memory else ""
    if sec is None:
        return f"{'-':>10}{dash:>8}{'-':>10}"
    ratio = (sec / rows) / (base / rows0) if base else float("nan")
    mem = f"{mb:8.0f}" if memory and mb is not None else f"{dash:>8}"
    return f"{sec:10.2f}{mem}{ratio:10.2f}"


def table(results: list[dict[str, Any]]) -> list[str]:
    """Stages as rows; per size: seconds, peak MB and cost per row / smallest size's; then
    each DML learner's seconds and cost per row."""
    done = [r for r in results if "error" not in r]
    if not done:
        return [f"{r['rows']:,} rows: {r['error']}" for r in results]
    first = done[0]
    stages = list(dict.fromkeys(s for r in done for s in r["seconds"]))
    head = "".join(f"{format(r['rows'], ',') + ' rows':>28}" for r in done)
    sub = "".join(f"{'s':>10}{'MB':>8}{'x/row':>10}" for _ in done)
    lines = [f"{'stage':<32}{head}", f"{'':<32}{sub}"]
    for stage in [*stages, "total"]:
        if stage == "total":
            cells = [
                _cell(
                    r["wall"],
                    max(r["memory"].values()),
                    first["wall"],
                    r["rows"],
                    first["rows"],
                    True,
                )
                for r in done
            ]
        else:
            base = first["seconds"].get(stage)
            cells = [
                _cell(
                    r["seconds"].get(stage),
                    r["memory"].get(stage),
                    base,
                    r["rows"],
                    first["rows"],
                    True,
                )
                for r in done
            ]
        lines.append(f"{stage:<32}" + "".join(cells))
    models = list(dict.fromkeys(m for r in done for m in r.get("learner_seconds", {})))
    if models:
        lines.append(
            "DML learners: seconds of each Table 11 model's cross-fitting jobs (dml_plr_<name>; "
            "worker-seconds when run in parallel) and cost per row"
        )
        for model in models:
            base = first.get("learner_seconds", {}).get(model)
            cells = [
                _cell(
                    r.get("learner_seconds", {}).get(model),
                    None,
                    base,
                    r["rows"],
                    first["rows"],
                    False,
                )
                for r in done
            ]
            lines.append(f"  {model.removeprefix('dml_plr_'):<30}" + "".join(cells))
    for r in results:
        if "error" in r:
            lines.append(f"{r['rows']:,} rows: {r['error']}")
        else:
            if r["not_run"]:
                lines.append(f"{r['rows']:,} rows: not run: {', '.join(r['not_run'])}")
            for part, error in r["failed"].items():
                lines.append(f"{r['rows']:,} rows: failed: {part}: {error}")
    return lines


def main(sizes: tuple[int, ...] = SIZES) -> int:
    results = []
    for rows in sizes:
        print(f"bench --scale --study: {rows:,} rows ...", file=sys.stderr, flush=True)
        results.append(_child(rows))
    print(
        f"The whole study on any-unit simulated panels (SIMULATED; {N_YEARS} years, 3 cohorts "
        "and never-treated units; analysis/simulation/units.py), one process per size."
    )
    print(
        "s: wall seconds; MB: peak resident memory of the process and its workers during "
        "the stage; x/row: cost per row relative to the smallest size (1 = linear). "
        f"Address space capped at {ADDRESS_SPACE / 2**30:.1f} GiB per process."
    )
    for line in table(results):
        print(line)
    print("Settings: the study's (data/study.toml), except:")
    for key, why in CHANGES.items():
        print(f"  {key}: {why}")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    print(json.dumps(measure(parser.parse_args().rows)))
