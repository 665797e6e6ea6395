"""report.html in a real browser: headless Chromium (Debian's package) renders the page; the
test fails on a console error, a missing or broken image, or a missing exhibit section."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("fast_run"),
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="headless Chromium and chromedriver are not installed (Debian packages chromium, chromium-driver; `make test` installs them as root)",
    ),
]


@pytest.fixture(scope="module")
def report(fast_run: Path) -> Path:
    """The report of the session's run of the fast configuration (tests/conftest.py)."""
    return fast_run / "report.html"


def test_report_renders_without_errors(report: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    try:
        driver.set_window_size(1280, 800)
        driver.get(report.as_uri())
        width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        plot_top = driver.execute_script(
            "const i = document.querySelector('section.first img');"
            "return i ? i.getBoundingClientRect().top : null;"
        )
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        headings = driver.execute_script(
            "return Array.from(document.querySelectorAll('h2')).map(h => h.id);"
        )
        banner = driver.execute_script(
            "return document.querySelector('.banner') && document.querySelector('.banner').innerText;"
        )
    finally:
        driver.quit()
    manifest = json.loads((report.parent / "manifest.json").read_text())
    expected_figures = {f for ex in manifest["exhibits"] for f in ex["figures"]}
    assert errors == []
    assert {alt for alt, _ in images} == expected_figures | {"findings_headline"}
    assert all(ok for _, ok in images), images
    ids = [ex["id"] for ex in manifest["exhibits"]]
    results = [i for i in ids if i != "data_audit"]
    assert headings[:2] == ["findings", "contents"]
    assert headings[2 : 2 + len(results)] == results and "data_audit" in headings
    assert {"crosscheck", "provenance", "truth"} <= set(headings)
    assert "SIMULATED DATA" in banner
    assert width[0] <= width[1] <= 1280, width  # no horizontal overflow at 1280 px
    assert plot_top is not None and plot_top < 800  # the headline plot on the first screen


def test_the_printed_report_opens_with_the_findings(report: Path, tmp_path: Path) -> None:
    """Chromium's own print to PDF (A4 from the page's CSS): the first page holds the
    findings (the sentence, the plot, the checks); no more pages than the 25 the report had
    before it was summarised."""
    import subprocess
    import unicodedata

    from pypdf import PdfReader

    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    pages = PdfReader(pdf).pages
    first = unicodedata.normalize("NFKC", pages[0].extract_text())
    assert "Findings" in first and "The overall effect is" in first, first[:500]
    assert "Pre-trends" in first and "R cross-check" in first
    assert len(pages[0].images) >= 1  # the headline plot
    baseline = next(i for i, p in enumerate(pages) if "table2_baseline" in p.extract_text())
    assert baseline <= 3, baseline + 1
    assert len(pages) < 25, len(pages)


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text
