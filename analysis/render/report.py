"""`report.html`: one self-contained page (figures embedded, no network) made from a finished
run folder alone: the exhibits in the study's order, each captioned with its exact
specification and a link to the code that made it; the estimates beside the truth on
simulated data; the R cross-check and its depth; the provenance and the time per stage."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import REPO_ROOT
from analysis.render import findings
from analysis.render.figures import data_label, headline_figure
from analysis.render.labels import vocabulary, words

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.6em 1em;font-weight:600}
.caption{font-size:.85em;color:#444;background:#f8f8f8;padding:.5em .8em;border-left:3px solid #1f4e79}
.caption code{font-size:.95em}.pass{color:#1a7f37}.fail{color:#b42318;font-weight:700}.skipped{color:#8a6d00}
img{max-width:100%;border:1px solid #eee}nav a{margin-right:1em}
.findings{display:flex;gap:1.2em;flex-wrap:wrap;align-items:flex-start}.findings>div{flex:1 1 420px;min-width:0}
.findings img{border:none}.verdict{font-size:1.05em}
ol.toc{columns:2;font-size:.88em;padding-left:1.4em}ol.toc li{break-inside:avoid}
details{margin:.5em 0}summary{cursor:pointer;color:#1f4e79}
table{max-width:100%}td,th{overflow-wrap:anywhere}
@page{size:A4;margin:12mm}
@media print{
 body{max-width:none;margin:0;font-size:9.5pt}nav,.noprint{display:none}
 .findings{display:block}.findings img{max-height:7.5cm;width:auto}.findings>div{break-inside:auto}
 ol.toc{font-size:8pt}
 table,img,.caption,.banner,figure,.findings>div{break-inside:avoid;page-break-inside:avoid}
 h2,h3{break-after:avoid;page-break-after:avoid}
 details:not([open])>*:not(summary){display:none}
 section.first{break-after:page;page-break-after:always}
 .caption{font-size:8pt}
}
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
                f"<code>{_esc(s.ssc)}</code>; sample: {_esc(words(str(s.sample)))}; N = {_esc(s.n_obs)}; "
                f"clusters = {_esc(s.n_clusters)}"
            )
    if len(parts) > 4:  # many models: the code link shown, their specifications collapsed
        return (
            f'<div class="caption">{parts[0]}<details><summary>Specification of the '
            f"{len(parts) - 1} models</summary>" + "<br>".join(parts[1:]) + "</details></div>"
        )
    return '<div class="caption">' + "<br>".join(parts) + "</div>"


def _section(ex: dict[str, Any], estimates: pd.DataFrame, out: Path) -> str:
    names = set(ex["tables"])
    est = (
        estimates[estimates["exhibit"].isin(names)]
        if "exhibit" in estimates
        else estimates.iloc[:0]
    )
    body = [
        f'<h2 id="{_esc(ex["id"])}">{_esc(words(ex["title"]))}</h2>',
        _caption(est, ex["module"], out),
    ]
    for name in ex["tables"]:
        csv = out / "tables" / f"{name}.csv"
        md = out / "tables" / f"{name}.md"
        if not csv.exists():
            body.append(f"<h3>{_esc(name)}</h3><p class='fail'>not written (see Failed)</p>")
            continue
        note = md.read_text(encoding="utf-8").rstrip().splitlines()[-1] if md.exists() else ""
        shown = (
            audit_summary(_read_table(csv), f"tables/{name}.csv")
            if name == AUDIT_FLAGS
            else _table_html(_read_table(csv))
        )
        body.append(f"<h3>{_esc(name)}</h3>" + shown)
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
    asked = {v["name"] for v in manifest.get("variables") or []}
    if asked:  # the variables this run asks for; the study's others are no news
        others = len([k for k in built if k not in asked])
        built = {k: v for k, v in built.items() if k in asked}
        if others:
            items.append(
                f"{others} other variables of the study not built (their inputs are not in the data; see manifest.json)"
            )
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


AUDIT_FLAGS = "table0b_audit_flags"
# Which flags are shown first: the kinds most likely to be errors, then the largest.
FLAG_PRIORITY = (
    "scale_break",
    "jump",
    "out_of_range",
    "non_positive",
    "parts",
    "repeated",
    "missing",
)
SHOWN_FLAGS = 20


def _flag_size(detail: str) -> float:
    match = re.search(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?", detail)
    return abs(float(match.group())) if match else 0.0


def audit_summary(flags: pd.DataFrame, link: str) -> str:
    """The data audit's flags summarised: counts by kind, the SHOWN_FLAGS most likely to
    matter (scale breaks and jumps first, the largest first), the full list collapsed."""
    if flags.empty:
        return "<p>No cell flagged.</p>"
    counts = flags["kind"].value_counts()
    order = {k: i for i, k in enumerate(FLAG_PRIORITY)}
    ranked = flags.assign(
        _rank=flags["kind"].map(order).fillna(len(order)),
        _size=-flags["detail"].map(_flag_size),
    ).sort_values(["_rank", "_size", "column", "unit", "year"], kind="stable")
    top = ranked.drop(columns=["_rank", "_size"]).head(SHOWN_FLAGS)
    kinds = ", ".join(
        f"{k}: {int(counts[k])}" for k in [*FLAG_PRIORITY, *counts.index] if k in counts
    )
    kinds = ", ".join(dict.fromkeys(kinds.split(", ")))
    return (
        f"<p>{len(flags)} flagged cells ({_esc(kinds)}). The {len(top)} most likely to "
        f'matter (scale breaks and jumps first, the largest first); all of them: <a href="{_esc(link)}">'
        f"{_esc(link)}</a>.</p>"
        + _table_html(top)
        + f"<details><summary>All {len(flags)} flags</summary>{_table_html(flags)}</details>"
    )


def _findings(out: Path, estimates: pd.DataFrame, manifest: dict[str, Any]) -> str:
    """The first screen: the overall effect by every estimator (plot), one sentence from the
    numbers, and the checks a referee asks for first (render.findings)."""
    simulated = manifest["data"]["simulated"]
    truth_csv = out / "tables" / "truth_comparison.csv"
    truth = _read_table(truth_csv) if truth_csv.exists() else None
    cc_csv = out / "crosscheck.csv"
    crosscheck = pd.read_csv(cc_csv, dtype=str, keep_default_na=False) if cc_csv.exists() else None
    rows = findings.headline(estimates, truth)
    figure = ""
    if rows:
        png = out / "figures" / "findings_headline.png"
        with data_label("SIMULATED DATA" if simulated else ""):
            headline_figure(rows, png, "The overall effect by estimator")
        figure = _img(png)
    table = pd.DataFrame(
        [
            {
                "estimator": r.label,
                "model": r.model,
                "estimate": findings.fmt(r.estimate),
                "std_error": findings.fmt(r.std_error),
                "interval": f"[{findings.fmt(r.conf_low)}, {findings.fmt(r.conf_high)}]",
                "p_value": f"{r.p_value:.3f}",
                **({"truth": findings.fmt(r.truth)} if r.truth is not None else {}),
            }
            for r in rows
        ]
    )
    checks = pd.DataFrame(
        findings.checks(estimates, crosscheck, str(out), findings.cohort_sizes(out)),
        columns=["check", "result"],
    )
    return (
        '<section class="first"><h2 id="findings">Findings</h2>'
        f'<p class="verdict">{_esc(findings.verdict(rows, simulated))}</p>'
        f'<div class="findings"><div>{figure}</div><div>{_table_html(checks)}</div></div>'
        + (_table_html(table) if len(table) else "")
        + "</section>"
    )


HEADLINE_TERMS = ("treat_post", "ATT", "overall", "joint_pre_F", "breakdown", "p_value")


def _toc(manifest: dict[str, Any], estimates: pd.DataFrame) -> str:
    """A table of contents with each exhibit's headline number (its first overall effect,
    test or breakdown value)."""
    items = []
    ordered = sorted(manifest["exhibits"], key=lambda ex: ex["id"] in DATA_EXHIBITS)
    for ex in ordered:
        est = estimates[estimates["exhibit"].isin(ex["tables"])]
        est = est[est["term"].isin(HEADLINE_TERMS)]
        first = est["model"].isin([m for _, m, _ in findings.HEADLINE])
        number = ""
        if len(est):
            row = est[first].iloc[0] if first.any() else est.iloc[0]
            value = pd.to_numeric(row["estimate"], errors="coerce")
            se = pd.to_numeric(row["std_error"], errors="coerce")
            if pd.notna(value):
                number = f" - {row['model']} {row['term']}: {findings.fmt(float(value))}"
                effect = row["term"] in ("treat_post", "ATT", "overall")
                number += f" ({findings.fmt(float(se))})" if effect and pd.notna(se) else ""
        items.append(
            f'<li><a href="#{_esc(ex["id"])}">{_esc(words(ex["title"]))}</a>{_esc(number)}</li>'
        )
    items += [
        f'<li><a href="#{k}">{v}</a></li>'
        for k, v in (
            ("data", "Data and what was not run"),
            ("crosscheck", "Cross-check against R"),
            ("provenance", "Provenance"),
        )
    ]
    return '<h2 id="contents">Contents</h2><ol class="toc">' + "".join(items) + "</ol>"


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
    failed = cc[cc["status"] == "fail"]
    skipped = cc[cc["status"] == "skipped"]["reason"].value_counts()
    reasons = pd.DataFrame({"reason": skipped.index, "checks": skipped.to_numpy()})
    return (
        head
        + f"<p>R engine(s): <b>{_esc(engines)}</b>. {_esc(summary)}.</p>"
        + (f"<h3>Failed</h3>{_table_html(failed, 'status')}" if len(failed) else "")
        + (f"<h3>Skipped, by reason</h3>{_table_html(reasons)}" if len(reasons) else "")
        + f"<details><summary>All {len(cc)} checks</summary>{_table_html(cc, 'status')}</details>"
    )


DATA_EXHIBITS = ("data_audit",)


def _truth(table: pd.DataFrame) -> str:
    """Estimates beside the simulation's truth: coverage counts, the headline rows, and the
    full comparison collapsed."""
    head = '<h2 id="truth">Estimates beside the truth of the simulation</h2>'
    if table.empty:
        return head + "<p>No estimate has a known truth.</p>"
    covered = (table["covered"] == "yes").sum()
    keys = {(m, t) for _, m, t in findings.HEADLINE}
    top = table[[(m, t) in keys for m, t in zip(table["model"], table["term"], strict=True)]]
    return (
        head
        + f"<p>{covered} of {len(table)} intervals cover the true value; the overall effects:</p>"
        + _table_html(top)
        + f"<details><summary>All {len(table)} estimates with a known truth</summary>"
        + _table_html(table)
        + "</details>"
    )


def render(out: Path) -> Path:
    """Write OUT/report.html from the files of a finished run folder; returns its path."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    config = manifest.get("config") or {}
    study = (
        config.get("panel", {}).get("units", "cities"),
        config.get("treatment", {}).get("source", "pilot_zones"),
    ) == ("cities", "pilot_zones")
    with vocabulary(study, config.get("outcome", {}).get("column", "")):
        return _render(out, manifest, study)


def _render(out: Path, manifest: dict[str, Any], study: bool) -> Path:
    estimates = pd.read_csv(out / "estimates.csv", dtype=str, keep_default_na=False)
    simulated = manifest["data"]["simulated"]
    # Results first; the data audit (what the data are) after them, before what was dropped.
    results = [ex for ex in manifest["exhibits"] if ex["id"] not in DATA_EXHIBITS]
    data = [ex for ex in manifest["exhibits"] if ex["id"] in DATA_EXHIBITS]
    sections = [_section(ex, estimates, out) for ex in results]
    data_sections = [_section(ex, estimates, out) for ex in data]
    truth = out / "tables" / "truth_comparison.csv"
    title = (
        "Big data pilot zones and industrial chain resilience: replication report"
        if study
        else f"Staggered difference-in-differences on {Path(manifest['data']['file']).name}: report"
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        '<p class="banner">SIMULATED DATA: the embedded default panel with known true effects '
        "(analysis/simulation/dgp.py); not the study's yearbook data.</p>"
        if simulated
        else f"<p>Data: <code>{_esc(manifest['data']['file'])}</code></p>",
        _findings(out, estimates, manifest),
        _specification(manifest),
        _not_run_banner(manifest),
        _toc(manifest, estimates),
        *sections,
        *data_sections,
        _data_section(manifest),
        _variables(manifest),
    ]
    if truth.exists():
        parts.append(_truth(_read_table(truth)))
    parts += [_crosscheck(out), _provenance(manifest), "</body></html>"]
    path = out / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
