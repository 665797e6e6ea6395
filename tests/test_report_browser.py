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
        driver.get(report.as_uri())
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
    assert {alt for alt, _ in images} == expected_figures and expected_figures
    assert all(ok for _, ok in images), images
    assert [ex["id"] for ex in manifest["exhibits"]] == headings[: len(manifest["exhibits"])]
    assert {"crosscheck", "provenance", "truth"} <= set(headings)
    assert "SIMULATED DATA" in banner


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text
