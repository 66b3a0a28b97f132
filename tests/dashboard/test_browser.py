"""A real browser (Debian's chromium, headless) on `qsearch dashboard` and on pareto.html (marker `browser`)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(finished_study) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "qsearch.cli", "dashboard", "--storage", finished_study.url,
                               "--port", str(port)], env=os.environ.copy(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/meta", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"qsearch dashboard did not start: {server.stderr.read()!r}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--no-sandbox", "--headless=new", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _text_when(driver, url: str, *needles: str, timeout: float = 60) -> str:
    """The page's whole text (textContent: scrolled-away parts too) once every needle appears in its HTML."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while not all(n in driver.page_source for n in needles):
        if time.monotonic() > deadline:
            missing = [n for n in needles if n not in driver.page_source]
            raise AssertionError(f"{url}: never rendered {missing}")
        time.sleep(0.5)
    return driver.execute_script("return document.body.textContent")


def test_study_page_shows_qsearchs_plot_feasibility_and_feasible_best_trials(browser, dashboard_url,
                                                                             finished_study):
    selected, knee = finished_study.best["selected"], finished_study.best["knee"]
    text = _text_when(browser, f"{dashboard_url}/dashboard/studies/1", f"selected (trial {selected})",
                      f"knee (trial {knee})", "Best Trials", "Infeasible")
    assert "budget: float" in browser.page_source  # the budget line of qsearch's figure
    best_part = text[text.index("Best Trials"):]
    best = {int(n) for n in re.findall(r"Trial (\d+)Objective Values", best_part)}
    front = {row["trial_number"] for row in finished_study.best["trials"] if not row["is_baseline"]}
    assert best == front and 0 not in best  # the float baseline (infeasible) wears no best badge
    assert f"dash-trial{selected}.zip" in text  # the selected model, as a study artifact


def test_note_page_renders_qsearchs_summary(browser, dashboard_url, finished_study):
    selected = finished_study.best["selected"]
    text = _text_when(browser, f"{dashboard_url}/dashboard/studies/1/note", "qsearch summary")
    assert f"selected: trial {selected} " in text and "budget: at most 4.0 points below float" in text


def test_selected_trial_page_links_its_model_and_baseline_is_labelled(browser, dashboard_url, finished_study):
    from selenium.webdriver.common.by import By

    selected = finished_study.best["selected"]
    _text_when(browser, f"{dashboard_url}/dashboard/studies/1/trials?numbers={selected}", "Exported model")
    links = [a.get_attribute("href") for a in browser.find_elements(By.PARTIAL_LINK_TEXT, "download")]
    assert any("/artifacts/1/" in link for link in links), links
    with urllib.request.urlopen(next(link for link in links if "/artifacts/1/" in link)) as answer:
        assert answer.read(2) == b"PK"  # a zip
    text = _text_when(browser, f"{dashboard_url}/dashboard/studies/1/trials?numbers=0", "float baseline")
    assert "not a candidate" in text


def test_pareto_html_draws_the_budget_line_and_the_selected_marker(browser, finished_study):
    selected = finished_study.best["selected"]
    browser.get(finished_study.pareto_html.as_uri())
    deadline = time.monotonic() + 60
    while "main-svg" not in browser.page_source and time.monotonic() < deadline:
        time.sleep(0.5)
    svg = browser.execute_script("return Array.from(document.querySelectorAll('svg.main-svg'))"
                                 ".map(s => s.textContent).join(' ')")
    assert "budget: float" in svg and f"selected (trial {selected})" in svg
