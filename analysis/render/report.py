"""`report.html`: one self-contained page (figures embedded, no network) made from a finished
run folder alone: the exhibits in the study's order, each captioned with its exact
specification and a link to the code that made it; the estimates beside the truth on
simulated data; the R cross-check and its depth; the provenance and the time per stage."""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import REPO_ROOT

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.6em 1em;font-weight:600}
.caption{font-size:.85em;color:#444;background:#f8f8f8;padding:.5em .8em;border-left:3px solid #1f4e79}
.caption code{font-size:.95em}.pass{color:#1a7f37}.fail{color:#b42318;font-weight:700}.skipped{color:#8a6d00}
img{max-width:100%;border:1px solid #eee}nav a{margin-right:1em}
"""


def _esc(x: object) -> str:
    return html.escape(str(x))


def _numeric(value: object) -> bool:
    text = str(value).strip("()*")
    try:
        float(text)
    except ValueError:
        return False
    return text != ""


def _table_html(frame: pd.DataFrame, status_col: str | None = None) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for r in frame.astype(object).where(frame.notna(), "").itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, r, strict=True):
            cls = (
                f' class="{_esc(v)}"' if c == status_col else ' class="num"' if _numeric(v) else ""
            )
            cells.append(f"<td{cls}>{_esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{_esc(path.stem)}" src="data:image/png;base64,{data}"></p>'


def _caption(est: pd.DataFrame, module: str, out: Path) -> str:
    """Specification of an exhibit: formula(s), fixed effects, inference, sample, N, clusters."""
    src = REPO_ROOT / (module.replace(".", "/") + ".py")
    link = os.path.relpath(src, out) if src.exists() else module
    parts = [f'Code: <a href="{_esc(link)}"><code>{_esc(module)}</code></a>']
    if not est.empty:
        cols = ["model", "formula", "fixef", "vcov", "ssc", "sample", "n_obs", "n_clusters"]
        spec = est[cols].drop_duplicates(subset=["model"])
        for s in spec.itertuples(index=False):
            parts.append(
                f"<b>{_esc(s.model)}</b>: <code>{_esc(s.formula)}</code>; fixed effects: "
                f"{_esc(s.fixef or 'none')}; variance: <code>{_esc(s.vcov)}</code>, "
                f"<code>{_esc(s.ssc)}</code>; sample: {_esc(s.sample)}; N = {_esc(s.n_obs)}; "
                f"clusters = {_esc(s.n_clusters)}"
            )
    return '<div class="caption">' + "<br>".join(parts) + "</div>"


def _section(ex: dict[str, Any], estimates: pd.DataFrame, out: Path) -> str:
    names = set(ex["tables"])
    est = (
        estimates[estimates["exhibit"].isin(names)]
        if "exhibit" in estimates
        else estimates.iloc[:0]
    )
    body = [f'<h2 id="{_esc(ex["id"])}">{_esc(ex["title"])}</h2>', _caption(est, ex["module"], out)]
    for name in ex["tables"]:
        csv = out / "tables" / f"{name}.csv"
        md = out / "tables" / f"{name}.md"
        if not csv.exists():
            body.append(f"<h3>{_esc(name)}</h3><p class='fail'>not written (see Failed)</p>")
            continue
        note = md.read_text(encoding="utf-8").rstrip().splitlines()[-1] if md.exists() else ""
        body.append(f"<h3>{_esc(name)}</h3>" + _table_html(_read_table(csv)))
        if note and not note.startswith("|"):
            body.append(f"<p><small>{_esc(note)}</small></p>")
    for name in ex["figures"]:
        png = out / "figures" / f"{name}.png"
        shown = _img(png) if png.exists() else "<p class='fail'>not drawn (see Failed)</p>"
        body.append(f"<h3>{_esc(name)}</h3>" + shown)
    return "\n".join(body)


def _read_table(csv: Path) -> pd.DataFrame:
    """A written table; an empty file is an empty table."""
    try:
        return pd.read_csv(csv, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _data_section(manifest: dict[str, Any]) -> str:
    """What the data did not allow: rows dropped, keys reinterpreted, variables not built,
    exhibits not run (with the missing roles), parts that failed."""
    panel = manifest.get("panel", {})
    parts = ['<h2 id="data">Data and what was not run</h2>']
    items = []
    years = panel.get("years_outside_panel") or {}
    if years:
        items.append(
            f"Rows of years outside the panel dropped: {_esc(', '.join(f'{y} ({n})' for y, n in years.items()))}"
        )
    unknown = panel.get("unknown_units") or []
    if unknown:
        listed = "; ".join(f"{u['value']} ({u['rows']} rows: {u['reason']})" for u in unknown)
        items.append(f"Unit keys naming no prefecture-level unit, rows dropped: {_esc(listed)}")
    outside = panel.get("cities_outside_sample") or []
    if outside:
        items.append(
            f"Units outside the study sample, dropped: {len(outside)} ({_esc(', '.join(map(str, outside[:40])))}{' ...' if len(outside) > 40 else ''})"
        )
    if panel.get("dropped_city_years"):
        items.append(
            f"Unit-years dropped as incomplete after interpolation: {panel['dropped_city_years']}"
        )
    read_as = panel.get("units_read_as") or []
    if read_as:
        items.append(
            "Unit keys read as: "
            + _esc("; ".join(f"{r['value']} -> {r['unit']} ({r['how']})" for r in read_as[:30]))
        )
    built = panel.get("not_built") or {}
    if built:
        items.append(
            "Variables not built: " + _esc("; ".join(f"{k} {v}" for k, v in built.items()))
        )
    parts.append(
        "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
        if items
        else "<p>Nothing dropped.</p>"
    )
    not_run = manifest.get("not_run") or []
    if not_run:
        frame = pd.DataFrame(
            [{"exhibit": r["exhibit"], "reason": "; ".join(r["reasons"])} for r in not_run]
        )
        parts += ["<h3>Not run</h3>", _table_html(frame)]
    failed = manifest.get("failed") or []
    if failed:
        frame = pd.DataFrame(failed).assign(status="fail")
        parts += ["<h3>Failed</h3>", _table_html(frame, "status")]
    return "\n".join(parts)


def _not_run_banner(manifest: dict[str, Any]) -> str:
    """One line at the top when exhibits were not run or parts failed (details: #data)."""
    not_run = [r["exhibit"] for r in manifest.get("not_run") or []]
    failed = [r["part"] for r in manifest.get("failed") or []]
    if not (not_run or failed):
        return ""
    text = []
    if not_run:
        text.append(f"Not run on these data: {', '.join(not_run)}")
    if failed:
        text.append(f"Failed: {', '.join(failed)}")
    return f'<p class="banner">{_esc("; ".join(text))} (<a href="#data">why</a>).</p>'


def _specification(manifest: dict[str, Any]) -> str:
    """On the first screen: whether the run follows the paper's specification, and each
    difference (asked for or forced by the data)."""
    spec = manifest.get("specification")
    if not spec:
        return ""
    if spec["as_in_paper"]:
        return "<p>Specification: as in the paper (data/study.toml).</p>"
    items = "".join(f"<li>{_esc(line)}</li>" for line in spec["differences"])
    return (
        '<div class="banner" id="specification"><p><b>This run\'s specification differs from '
        f"the paper's</b> ({len(spec['differences'])}):</p><ul>{items}</ul></div>"
    )


def _variables(manifest: dict[str, Any]) -> str:
    rows = manifest.get("variables") or []
    if not rows:
        return ""
    return '<h3 id="variables">Variables and their definitions</h3>' + _table_html(
        pd.DataFrame(rows)
    )


def _provenance(manifest: dict[str, Any]) -> str:
    versions = pd.DataFrame(sorted(manifest["versions"].items()), columns=["package", "version"])
    inputs = pd.DataFrame(
        [(k, v["path"], v["sha256"]) for k, v in manifest["inputs"].items()],
        columns=["input", "path", "sha256"],
    )
    stages = sorted(manifest["seconds"].items(), key=lambda kv: float(kv[1]), reverse=True)
    seconds = pd.DataFrame(stages, columns=["stage", "seconds"])
    git = manifest.get("git", {})
    r = manifest.get("r", {})
    return "\n".join(
        [
            '<h2 id="provenance">Provenance</h2>',
            f"<p>Git commit <code>{_esc(git.get('commit'))}</code>"
            + (" (work tree had changes)" if git.get("dirty") else "")
            + f"; seed {_esc(manifest['seed'])}; R: {_esc(r.get('R') or r.get('reason'))}.</p>",
            _table_html(versions),
            _table_html(inputs),
            "<h3>Seconds per stage</h3>",
            _table_html(seconds),
        ]
    )


def _crosscheck(out: Path) -> str:
    path = out / "crosscheck.csv"
    head = '<h2 id="crosscheck">Cross-check against R</h2>'
    if not path.exists():
        return (
            head
            + "<p>Not run yet: <code>python -m analysis crosscheck --out DIR</code> runs it and rewrites this page.</p>"
        )
    cc = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = cc["status"].value_counts().to_dict()
    engines = ", ".join(sorted(set(cc["r_engine"]) - {""})) or "none"
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return (
        head
        + f"<p>R engine(s): <b>{_esc(engines)}</b>. {_esc(summary)}.</p>"
        + _table_html(cc, "status")
    )


def render(out: Path) -> Path:
    """Write OUT/report.html from the files of a finished run folder; returns its path."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    estimates = pd.read_csv(out / "estimates.csv", dtype=str, keep_default_na=False)
    simulated = manifest["data"]["simulated"]
    sections = [_section(ex, estimates, out) for ex in manifest["exhibits"]]
    nav = " ".join(
        f'<a href="#{_esc(ex["id"])}">{_esc(ex["id"])}</a>' for ex in manifest["exhibits"]
    )
    truth = out / "tables" / "truth_comparison.csv"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Big data pilot zones and industrial chain resilience: replication report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Big data pilot zones and industrial chain resilience: replication report</h1>",
        '<p class="banner">SIMULATED DATA: the embedded default panel with known true effects '
        "(analysis/simulation/dgp.py); not the study's yearbook data.</p>"
        if simulated
        else f"<p>Data: <code>{_esc(manifest['data']['file'])}</code></p>",
        f"<nav>{nav} <a href='#data'>data</a> <a href='#crosscheck'>crosscheck</a> "
        "<a href='#provenance'>provenance</a></nav>",
        _specification(manifest),
        _not_run_banner(manifest),
        *sections,
        _data_section(manifest),
        _variables(manifest),
    ]
    if truth.exists():
        parts += [
            '<h2 id="truth">Estimates beside the truth of the simulation</h2>',
            _table_html(pd.read_csv(truth, dtype=str, keep_default_na=False)),
        ]
    parts += [_crosscheck(out), _provenance(manifest), "</body></html>"]
    path = out / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
