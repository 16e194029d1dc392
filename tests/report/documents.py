"""Result documents for the renderers' tests, built with the real model: several hosts, every
coverage status, an indicator with STIX sources, and attacker-controlled strings that must stay
text (a ``<script>``, an attribute break-out, a ``javascript:`` URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seawall.detect.techniques import attack_ref
from seawall.model.finding import (
    AnalystReview,
    CoverageEntry,
    Evidence,
    Finding,
    Incident,
    IndicatorRef,
    IndicatorSource,
    Provenance,
    ResultDocument,
    Suppression,
    finding_id,
    technique_coverage,
)
from seawall.model.reason import reason
from seawall.model.verdict import Review, Verdict

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '" onmouseover="alert(2)" x="'
JS_URL = "javascript:alert(3)//"
HOSTILE_HOST = "<img src=x onerror=alert(4)>"
HOSTILE_FILE = "C:\\inetpub\\wwwroot\\<b>x</b>.aspx"
START = datetime(2021, 3, 1, 8, 0, tzinfo=UTC)
INCIDENT_TITLE = f"Web shell to DNS {SCRIPT}"
STIX2_ID = "indicator--09e4a68c-2474-406e-b69a-475ba2dc6c9c"
STIX1_ID = "CISA:Indicator-75101c8b-09a8-4f6b-8ec8-4c85e8593272"


def _finding(
    detection: str,
    title: str,
    summary: str,
    host: str | None,
    techniques: list[str],
    *,
    severity: str = "high",
    score: float = 75.0,
    minutes: int | None = 0,
    span: int = 0,
    evidence: list[Evidence] | None = None,
    suppressed: bool = False,
    reasons: list[str] | None = None,
    review: Review | None = None,
) -> Finding:
    first = None if minutes is None else START + timedelta(minutes=minutes)
    last = None if first is None else first + timedelta(minutes=span)
    return Finding(
        finding_id=finding_id(detection, summary, host),
        detection_id=detection,
        title=title,
        summary=summary,
        severity=severity,  # type: ignore[arg-type]
        score=score,
        techniques=techniques,
        host=host,
        user="CORP\\alice" if host else None,
        first_seen=first,
        last_seen=last,
        verdict=Verdict.BENIGN if suppressed else Verdict.SUSPICIOUS,
        suppressed=suppressed,
        suppression=Suppression(
            kind="allowlist", reason=f"backup account {SCRIPT}", entry="allow.yml:3"
        )
        if suppressed
        else None,
        reasons=[reason("match", text) for text in reasons or [f"matched {detection}"]],
        attack=[attack_ref(t) for t in techniques],
        review=None
        if review is None
        else AnalystReview(
            verdict=review,
            reason=f"checked {SCRIPT}",
            analyst="alice",
            at=START + timedelta(days=31),
        ),
        evidence=evidence or [],
    )


def dns_evidence(query: str, minutes: int) -> Evidence:
    sources = [
        IndicatorSource(
            source="AA26-204A.stix_.json",
            source_id="s2",
            source_file="/intel/AA26-204A.stix_.json",
            confidence=None,
            title=None,
            external_id=STIX2_ID,
            context={"pattern": "[domain-name:value = 'mailnalysis.com']", "spec_version": "2.1"},
        ),
        IndicatorSource(
            source="AA26-204A.stix_.xml",
            source_id="s1",
            source_file="/intel/AA26-204A.stix_.xml",
            title="mailnalysis.com",
            external_id=STIX1_ID,
        ),
        IndicatorSource(source="feed.txt", source_id="s3", external_id=None),
    ]
    return Evidence(
        row={
            "time": (START + timedelta(minutes=minutes)).isoformat(),
            "query": query,
            "client_ip": "10.0.0.5",
            "indicator_type": "domain",
            "indicator": "mailnalysis.com",
        },
        provenance=Provenance(
            source_file="/evidence/dns.log", source_sha256="ab" * 32, record_ref=str(minutes)
        ),
        indicator=IndicatorRef(type="domain", value="mailnalysis.com", sources=sources),
    )


def hostile_document() -> ResultDocument:
    """Three hosts, an incomplete hunt, a suppressed finding and hostile strings everywhere."""
    web = Evidence(
        row={
            "path": HOSTILE_FILE,
            "command_line": f"cmd.exe /c echo {SCRIPT} {ATTRIBUTE}",
            "url": JS_URL,
            "answers": ["1.2.3.4", SCRIPT],
            "size": 1234,
        },
        provenance=Provenance(
            source_file=f"/evidence/{SCRIPT}.evtx", source_sha256="cd" * 32, record_ref="42"
        ),
    )
    findings = [
        _finding(
            "web.webshell",
            "Web shell",
            f"web shell {HOSTILE_FILE} {SCRIPT}",
            "web01",
            ["T1505.003"],
            severity="critical",
            score=95,
            minutes=5,
            evidence=[web],
            reasons=[f"eval of request data {ATTRIBUTE}", JS_URL],
            review=Review.TRUE_POSITIVE,
        ),
        _finding(
            "evtx.encoded-powershell",
            "Encoded PowerShell",
            f"powershell -enc {ATTRIBUTE}",
            HOSTILE_HOST,
            ["T1059.001", "T1027"],
            minutes=30,
            span=45,
            evidence=[web],
        ),
        _finding(
            "net.dns-ioc",
            "DNS query for an indicator",
            "ws1 asked for i.mailnalysis.com",
            "ws1",
            ["T1071.004"],
            severity="medium",
            score=60,
            minutes=90,
            span=20,
            evidence=[dns_evidence("i.mailnalysis.com", 90), dns_evidence("mailnalysis.com", 110)],
        ),
        _finding(
            "host.legit-tool-location",
            "Legitimate tool in an unusual place",
            "putty.exe in C:\\PerfLogs",
            "ws1",
            ["T1036.005"],
            severity="low",
            score=30,
            minutes=None,
            review=Review.FALSE_POSITIVE,
        ),
        _finding(
            "evtx.admin-commands",
            "Admin commands",
            "net group /domain by the backup account",
            "ws1",
            ["T1087.002"],
            severity="info",
            score=10,
            minutes=60,
            suppressed=True,
        ),
    ]
    coverage = [
        CoverageEntry(
            detection_id="web.webshell", techniques=["T1505.003"], status="ran", findings=1
        ),
        CoverageEntry(
            detection_id="evtx.encoded-powershell",
            techniques=["T1059.001", "T1027"],
            status="ran",
            findings=1,
        ),
        CoverageEntry(
            detection_id="net.dns-ioc", techniques=["T1071.004"], status="ran", findings=1
        ),
        CoverageEntry(
            detection_id="host.legit-tool-location",
            techniques=["T1036.005"],
            status="ran",
            findings=1,
        ),
        CoverageEntry(
            detection_id="evtx.admin-commands",
            techniques=["T1087.002"],
            status="ran",
            findings=0,
            suppressed=1,
        ),
        CoverageEntry(
            detection_id="evtx.lsass-access",
            techniques=["T1003.001"],
            status="not-evaluable",
            reason=f"no Sysmon 10 events {SCRIPT}",
        ),
        CoverageEntry(
            detection_id="net.admin-share-mapping",
            techniques=["T1021.002"],
            status="partial",
            reason="3 SMB rows without a share name",
        ),
        CoverageEntry(
            detection_id="ioc.file-hash", techniques=["T1204.002"], status="ran", findings=0
        ),
    ]
    incident = Incident(
        incident_id="inc-1",
        title=INCIDENT_TITLE,
        summary=f"a web shell, encoded PowerShell and a DNS indicator {ATTRIBUTE}",
        severity="high",
        score=88,
        # out of time order on purpose: the report orders them
        finding_ids=[findings[2].finding_id, findings[0].finding_id, findings[1].finding_id],
        hosts=["web01", HOSTILE_HOST, "ws1"],
        techniques=["T1505.003", "T1059.001", "T1071.004"],
        attack=[attack_ref(t) for t in ("T1505.003", "T1059.001", "T1071.004")],
    )
    return ResultDocument(
        run_id="0123456789abcdef0123456789abcdef",
        seawall_version="0.1.0",
        case=f"/cases/{SCRIPT}",
        pack="aa21-200a",
        started=START + timedelta(days=30),
        finished=START + timedelta(days=30, minutes=3),
        findings=findings,
        incidents=[incident],
        coverage=coverage,
        technique_coverage=technique_coverage(coverage),
        warnings=[f"dns.log:7: bad line {SCRIPT}"],
    )
