"""The report is one self-contained page: rendered from a results document, checked in Chromium."""

from __future__ import annotations

import re

import pytest

from sandbox.errors import ConfigError
from sandbox.report import render_report, write_report
from sandbox.sweep import read_results, results_document, write_results
from tests.report.browser import chromium_page


def row(agent, faults, trial, success, episode):
    return {"agent": agent, "task": "refund-duplicate-charge", "faults": faults, "seed": 7, "trial": trial,
            "episode": episode, "success": success, "score": float(success), "credit": float(success), "calls": 3,
            "errors": 0 if success else 1, "retries": 0, "duplicated_writes": 0, "seconds": 0.4, "exit_code": 0,
            "timed_out": False, "harms": 0, "leaks": 0, "faults_fired": 0,
            "reasons": ["ok: <one> refund" if success else "missing: <one> refund"]}


@pytest.fixture
def doc():
    rows, episodes = [], {}
    n = 0
    for agent, outcomes in {"careful": [True, True, True, True], "no-retry": [True, True, False, False]}.items():
        for (faults, trial), success in zip([("none", 1), ("none", 2), ("http-error", 1), ("http-error", 2)], outcomes,
                                            strict=True):
            n += 1
            episode = f"ep{n:06d}"
            rows.append(row(agent, faults, trial, success, episode))
            episodes[episode] = {
                "exchanges": [{"id": 1, "clock": 1, "method": "POST", "host": "api.stripe.com", "path": "/v1/refunds",
                               "status": 200 if success else 500, "outcome": "routed", "ms": 4.2,
                               "faults": [] if success else ["third-call-500: error"]}],
                "faults": [], "changes": [{"exchange": 1, "change": "payments.refunds insert re_1 (amount=1)"}],
                "setup": [], "reasons": rows[-1]["reasons"], "agent_log": "<script>alert(1)</script>"}
    config = {"agents": {"careful": "python careful.py", "no-retry": "python no_retry.py"},
              "tasks": ["refund-duplicate-charge"], "faults": ["none", "http-error"], "seeds": 1, "trials": 2}
    return results_document(config, rows, episodes)


def test_the_page_is_self_contained_and_escapes_what_it_shows(doc):
    page = render_report(doc)
    assert "<script" not in page.replace("&lt;script&gt;", "")  # agent output is shown, never run
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external assets
    assert "&lt;one&gt; refund" in page
    assert page.count('<tr class="episode"') == 8


def test_results_files_round_trip_and_bad_files_are_named(doc, tmp_path):
    paths = write_results(doc, tmp_path / "out")
    assert read_results(paths["json"]) == doc
    header = paths["csv"].read_text().splitlines()[0]
    assert header.startswith("agent,task,faults,seed,trial,fault_seed,episode,success")
    (tmp_path / "bad.json").write_text('{"rows": []}')
    with pytest.raises(ConfigError, match="not a sweep results file"):
        read_results(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="no results file"):
        read_results(tmp_path / "missing.json")


def test_the_report_renders_in_chromium(doc, tmp_path):
    path = write_report(doc, tmp_path / "report.html")
    with chromium_page(path, tmp_path / "report.png") as (page, requested):
        assert page.title() == "Sweep report"
        assert page.locator("svg.chart").first.is_visible()
        assert page.locator("svg.chart rect").count() >= 4  # bars
        assert page.locator("table.summary tr").count() == 1 + 4
        assert page.locator("table.deltas").is_visible()
        assert "yes" in page.locator("table.deltas").inner_text()  # no-retry's drop is beyond noise
        page.locator("tr.episode + tr details summary").first.click()
        assert page.locator("svg.timeline").first.is_visible()
        assert requested == [path.resolve().as_uri()]  # nothing else was fetched
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_report_command_renders_a_results_file_and_names_a_bad_one(doc, tmp_path):
    import subprocess
    import sys

    write_results(doc, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "report", str(tmp_path), "--title", "Nightly"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "report.html")
    assert "<title>Nightly</title>" in (tmp_path / "report.html").read_text()
    proc = subprocess.run([sys.executable, "-m", "sandbox.cli", "report", str(tmp_path / "nope.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no results file" in proc.stderr


@pytest.fixture
def priced_doc(doc):
    """The same sweep with costs: no-retry's failing episodes moved money wrongly, one row is a sweep error."""
    for r in doc["rows"]:
        r["cost"] = 0.0 if r["success"] else 334.5
        r["cost_lines"] = [] if r["success"] else [
            {"kind": "money", "what": "forbidden: the original charge refunded: refund re_1 of ch_<1>",
             "amount": 334.5, "why": "$297.00 moved (29700 usd) + 30 min cleanup at $1.25/min", "minutes": 30,
             "moved": 297.0}]
    doc["rows"][0] |= {"cost": None, "cost_lines": [], "error": "boom"}
    config, rows, episodes = doc["config"], doc["rows"], doc["episodes"]
    return results_document(config, rows, episodes)


def test_cost_per_agent_and_profile_and_what_the_sandbox_caught(priced_doc):
    cost = priced_doc["cost"]
    lines = {(c["agent"], c["faults"]): c for c in cost["by_agent_profile"]}
    assert lines[("no-retry", "http-error")] == {
        "agent": "no-retry", "faults": "http-error", "episodes": 2, "success_rate": 0.0, "mean_cost": 334.5,
        "total_cost": 669.0, "caught_cost": 669.0, "unpriced": 0}
    assert (lines[("careful", "none")]["mean_cost"], lines[("careful", "none")]["unpriced"]) == (0.0, 1)
    assert cost["total"]["caught_cost"] == 669.0 and cost["total"]["unpriced"] == 1
    summary = {(s["agent"], s["faults"]): s for s in priced_doc["summary"]}
    assert summary[("no-retry", "http-error")]["mean_cost"] == 334.5
    page = render_report(priced_doc)
    assert "This sweep caught <b>$669.00</b>" in page and "1 not priced (sweep errors)" in page
    assert "ch_&lt;1&gt;" in page and "ch_<1>" not in page  # cost lines are escaped like everything else


def test_results_csv_has_the_cost_and_its_lines(priced_doc, tmp_path):
    import csv

    paths = write_results(priced_doc, tmp_path)
    rows = list(csv.DictReader(paths["csv"].read_text().splitlines()))
    assert rows[0]["cost"] == "" and rows[-1]["cost"] == "334.5"
    assert rows[-1]["cost_lines"] == "$334.50 forbidden: the original charge refunded: refund re_1 of ch_<1>"


def test_the_cost_section_renders_in_chromium(priced_doc, tmp_path):
    path = write_report(priced_doc, tmp_path / "report.html")
    with chromium_page(path, tmp_path / "report.png") as (page, requested):
        assert page.locator("p.caught").is_visible() and "$669.00" in page.locator("p.caught").inner_text()
        assert page.locator("svg.chart").nth(1).is_visible()  # the cost chart, next to success
        assert "$334.50" in page.locator("svg.chart").nth(1).inner_html()
        table = page.locator("table.cost").inner_text()
        assert "no-retry" in table and "$669.00" in table
        assert page.locator("tr.episode > td.cost").count() == 8
        page.locator("tr.episode + tr details summary").last.click()
        assert page.locator("table.cost-lines").last.is_visible()
        assert requested == [path.resolve().as_uri()]  # still nothing else fetched
