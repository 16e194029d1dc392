"""The HTML report: self-contained, offline, escaped, and whole — checked as text and in
headless Chromium (sections, no script error, no request but the file, hostile strings shown
as text, the filter). Screenshots are saved in the test's tmp dir."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from seawall.intel.packs.loader import load_pack
from seawall.model.finding import (
    Evidence,
    Finding,
    HostIdentity,
    IncidentStep,
    Provenance,
    ResultDocument,
)
from seawall.model.reason import reason
from seawall.report.html import render_html
from seawall.report.matrix import CLEAN, DETECTED, NO_DETECTION, NOT_EVALUABLE, build_matrix
from seawall.report.view import build_view
from tests.report.browser import open_page
from tests.report.documents import (
    ATTRIBUTE,
    HOSTILE_FILE,
    HOSTILE_HOST,
    INCIDENT_TITLE,
    JS_URL,
    SCRIPT,
    START,
    hostile_document,
)
from tests.report.real_case import real_document

SECTIONS = ("summary", "incidents", "matrix", "timeline", "hosts", "coverage", "findings")


def _with_incident(document: ResultDocument) -> str:
    return render_html(document, pack=load_pack("aa21-200a"))


def test_attacker_strings_are_text_and_nothing_is_loaded() -> None:
    page = _with_incident(hostile_document())
    assert "<script>alert" not in page
    assert 'onmouseover="alert' not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34; onmouseover=&#34;alert(2)&#34;" in page
    # exactly one script and one style, both the report's own, allowed by hash only
    assert page.count("<script") == 1 and page.count("<style") == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = html.unescape(csp.group(1))
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    # no attribute loads or links anywhere but the report's own anchors
    targets = re.findall(r'\b(?:href|src|action|xlink:href)\s*=\s*"([^"]*)"', page)
    assert targets and all(re.fullmatch(r"#[A-Za-z0-9_-]+", t) for t in targets), targets
    assert "javascript:" not in page.replace(JS_URL, "")  # shown as text, never as a link
    assert re.search(r"https?://", page.split("</style>")[0]) is None
    assert "style=" not in page  # inline style attributes would need 'unsafe-inline'


def test_matrix_states_from_the_pack_and_the_coverage() -> None:
    view = build_view(hostile_document())
    matrix = build_matrix(view, load_pack("aa21-200a"))
    cells = matrix.cells
    assert cells["T1505.003"].state == DETECTED and cells["T1505.003"].in_pack
    assert cells["T1059.001"].state == DETECTED
    assert cells["T1204.002"].state == CLEAN  # ioc.file-hash ran, found nothing
    assert cells["T1087.002"].state == CLEAN  # its only finding is suppressed
    assert cells["T1036.005"].state == CLEAN  # its only finding was reviewed a false positive
    assert cells["T1087.002"].dismissed == 1
    assert cells["T1003.001"].state == NOT_EVALUABLE
    assert cells["T1021.002"].state == NOT_EVALUABLE  # partial is not clean
    assert cells["T1566.001"].state == NO_DETECTION
    assert "the pack names" in cells["T1566.001"].detail
    assert not cells["T1071.004"].in_pack and cells["T1071.004"].state == DETECTED
    tactics = [column.shortname for column in matrix.columns]
    assert tactics.index("initial-access") < tactics.index("execution")
    assert tactics.index("persistence") < tactics.index("command-and-control")
    assert dict(matrix.counts())[DETECTED] >= 2


def test_a_pack_that_cannot_be_loaded_is_said() -> None:
    page = render_html(hostile_document().model_copy(update={"pack": "no-such-pack"}))
    assert "pack &#39;no-such-pack&#39; could not be loaded" in page
    assert 'id="matrix"' in page and "T1505.003" in page


def test_report_in_chromium(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(_with_incident(hostile_document()), encoding="utf-8")
    with open_page(path) as (page, seen):
        for section in SECTIONS:
            assert page.locator(f"section#{section}").count() == 1, section
            assert page.locator(f"section#{section} h2").is_visible()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        # hostile strings are shown, as they are, as text
        findings = page.inner_text("#findings")
        assert SCRIPT in findings and HOSTILE_HOST in findings
        assert page.inner_text("#incidents").count(SCRIPT) >= 1
        assert INCIDENT_TITLE in page.inner_text("#incidents")
        first = page.locator("details.finding").first
        first.locator("summary").click()
        body = first.inner_text()
        assert HOSTILE_FILE in body and ATTRIBUTE.strip() in body and JS_URL in body
        assert page.locator("details.finding img, details.finding script").count() == 0
        # the filter: by a value inside the evidence, and hiding suppressed findings
        page.fill("#filter", "i.mailnalysis.com")
        expect(page.locator("#filter-count")).to_have_text(re.compile("^1 of"))
        assert page.locator("details.finding:visible").count() == 1
        page.fill("#filter", "")
        page.check("#hide-dismissed")  # the suppressed one and the false positive
        assert page.locator("details.finding:visible").count() == 3
        page.click("#expand-all")
        assert page.locator("details.finding[open]").count() == 3
        reviewed = page.inner_text("details.finding >> nth=0")
        assert "true-positive by alice" in reviewed and f"checked {SCRIPT}" in reviewed
        # a link from the incident timeline opens the finding it names
        page.click("#collapse-all")
        page.locator("#incidents a").first.click()
        assert page.locator("details.finding[open]").count() == 1
        page.screenshot(path=str(tmp_path / "finding.png"), full_page=False)
        tip = page.locator("#matrix .tech.st-detected").first.get_attribute("title") or ""
        assert "detected" in tip
    assert seen.errors == [] and seen.console_errors == [] and seen.dialogs == []
    assert seen.requests == [path.resolve().as_uri()]


def test_real_case_report_in_chromium(tmp_path: Path) -> None:
    document = real_document(tmp_path)
    path = tmp_path / "real.html"
    path.write_text(render_html(document), encoding="utf-8")
    with open_page(path) as (page, seen):
        page.screenshot(path=str(tmp_path / "real.png"), full_page=True)
        # one finding per client and indicator: the name and its parent domain, the address
        assert page.locator("details.finding").count() == len(document.findings) == 3
        assert "i.mailnalysis.com" in page.inner_text("#findings")
        assert page.locator("#timeline svg line.span").count() == 2  # two queries 5 min apart
        assert page.locator("#timeline svg circle").count() == 1
        assert "net.dns-ioc" in page.inner_text("#coverage")
        assert "No incidents" in page.inner_text("#incidents")
    assert seen.errors == [] and seen.console_errors == [] and seen.dialogs == []
    assert seen.requests == [path.resolve().as_uri()]


def _many(count: int) -> ResultDocument:
    """``count`` findings on 40 hosts over a week, each with an evidence row."""
    base = hostile_document()
    findings: list[Finding] = []
    for i in range(count):
        evidence = Evidence(
            row={
                "command_line": f"cmd.exe /c whoami /all & net group {i} {SCRIPT}",
                "parent": "w3wp.exe",
            },
            provenance=Provenance(source_file="Security.evtx", record_ref=str(i)),
        )
        findings.append(
            Finding(
                finding_id=f"{i:032x}",
                detection_id=f"evtx.rule-{i % 12}",
                title=f"Rule {i % 12}",
                summary=f"host-{i % 40} ran recon command {i}",
                severity=("info", "low", "medium", "high", "critical")[i % 5],
                score=float(i % 100),
                techniques=["T1059.003", "T1087.002"],
                host=f"host-{i % 40}",
                first_seen=START + timedelta(minutes=i * 2),
                last_seen=START + timedelta(minutes=i * 2 + i % 7),
                reasons=[reason("match", "recon from a web server process")],
                evidence=[evidence],
            )
        )
    return base.model_copy(update={"findings": findings})


@pytest.mark.slow
def test_five_thousand_findings_stay_usable(tmp_path: Path) -> None:
    page_text = render_html(_many(5_000))
    path = tmp_path / "many.html"
    path.write_text(page_text, encoding="utf-8")
    size = path.stat().st_size
    assert size < 20 * 1024 * 1024, size
    with open_page(path) as (page, seen):
        page.screenshot(path=str(tmp_path / "many.png"))
        assert page.locator("details.finding").count() == 5_000
        page.fill("#filter", "recon command 4321")
        expect(page.locator("#filter-count")).to_have_text(re.compile("^1 of"))
        page.fill("#filter", "host-7 ")
        expect(page.locator("#filter-count")).to_have_text(re.compile("^125 of"))
    assert seen.errors == [] and seen.console_errors == [] and seen.dialogs == []


def test_incidents_come_from_the_document_in_time_order() -> None:
    view = build_view(hostile_document())
    (incident,) = view.incidents
    assert incident.title == INCIDENT_TITLE
    assert [f.detection_id for f in incident.findings] == [
        "web.webshell",
        "evtx.encoded-powershell",
        "net.dns-ioc",
    ]
    assert incident.tactics == (
        "persistence",
        "execution",
        "defense-evasion",
        "command-and-control",
    )
    assert incident.first_seen == START + timedelta(minutes=5)
    page = render_html(hostile_document())
    assert 'Persistence</span><span class="arrow">→</span><span class="step">Execution' in page


def test_an_incidents_progression_is_its_story() -> None:
    """With steps (a correlation's incident), the page tells the progression the steps tell, as
    the incident's summary does: each step's primary tactic once, in the steps' order."""
    document = hostile_document()
    (incident,) = document.incidents
    by_id = {f.finding_id: f for f in document.findings}
    steps = [
        IncidentStep(
            finding_id=fid, detection_id=by_id[fid].detection_id, tactic=tactic, summary="step"
        )
        for fid, tactic in zip(
            incident.finding_ids, ("initial-access", "execution", "initial-access"), strict=True
        )
    ]
    told = incident.model_copy(update={"steps": steps})
    view = build_view(document.model_copy(update={"incidents": [told]}))
    assert view.incidents[0].tactics == ("initial-access", "execution")


def test_findings_group_under_the_host_the_incidents_identified() -> None:
    """A flow's address that an incident identified as a machine of the case is that machine in
    the report (its own name kept beside it); a name two incidents took differently stays."""
    document = hostile_document()
    (incident,) = document.incidents
    first, second = document.findings[0], document.findings[1]
    assert first.host is not None and second.host is not None
    identities = [
        HostIdentity(host="web01.corp.example", names=[first.host], inferred=True),
        HostIdentity(host="ws1.corp.example", names=[second.host]),
    ]
    other = incident.model_copy(
        update={
            "incident_id": "inc-2",
            "identities": [HostIdentity(host="ws9.corp.example", names=[second.host])],
        }
    )
    told = incident.model_copy(update={"identities": identities})
    view = build_view(document.model_copy(update={"incidents": [told, other]}))
    by_id = {f.id: f for f in view.findings}
    assert by_id[first.finding_id].host_name == "web01.corp.example"
    assert by_id[first.finding_id].given_host == first.host
    assert by_id[second.finding_id].host_name == second.host  # two incidents disagree
    page = render_html(document.model_copy(update={"incidents": [told, other]}))
    assert f'web01.corp.example <span class="muted">(as {html.escape(first.host)})' in page
