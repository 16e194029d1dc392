"""The event-log analytics over every file of two real EVTX corpora, against expectations kept
as data (``tests/data/evtx-expectations.yml``: file -> the detections that must fire on it).

Each file is loaded as its own host, so that one sample's events never meet another's (the
samples reuse lab host names), and every file of both corpora is checked: a listed file must
fire exactly its detections, any other file none of them. The events come through the real
EVTX reader and ingest (``tests/evtx_rows.load_evtx``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import ResultDocument
from tests.conftest import TEST_DATA, shared
from tests.evtx_rows import load_evtx

CORPORA = ("evtx/EVTX-ATTACK-SAMPLES", "evtx/hayabusa-sample-evtx")
EXPECTATIONS = TEST_DATA / "evtx-expectations.yml"


def _expectations() -> tuple[tuple[str, ...], dict[str, set[str]]]:
    data = yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))
    return tuple(data["detections"]), {k: set(v) for k, v in data["files"].items()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ResultDocument]]:
    root = shared("evtx")
    for corpus in CORPORA:
        shared(corpus)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".evtx")
    detections, _ = _expectations()
    case = tmp_path_factory.mktemp("corpus") / "case"
    with CaseStore.open(case) as store:
        load_evtx(store, files, host=lambda path: str(path.relative_to(root)))
        document = hunt(store, HuntRequest(detection_ids=detections))
    yield root, document


def _fired(root: Path, document: ResultDocument) -> dict[str, set[str]]:
    """File (relative to the corpus root) -> detections with a finding whose evidence is in it."""
    fired: dict[str, set[str]] = {}
    for finding in document.findings:
        for item in finding.evidence:
            if item.provenance.source_file:
                key = str(Path(item.provenance.source_file).relative_to(root))
                fired.setdefault(key, set()).add(finding.detection_id)
    return fired


def test_every_file_fires_exactly_its_expected_detections(
    corpus: tuple[Path, ResultDocument],
) -> None:
    root, document = corpus
    _, expected = _expectations()
    files = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() == ".evtx"
    )
    assert len(files) > 300
    assert set(expected) <= set(files), "expectations name files that do not exist"
    assert all(e.status == "ran" for e in document.coverage), document.coverage
    fired = _fired(root, document)
    wrong = {
        name: (sorted(expected.get(name, set())), sorted(fired.get(name, set())))
        for name in files
        if expected.get(name, set()) != fired.get(name, set())
    }
    assert wrong == {}, "file: (expected, fired)"


def test_the_advisorys_examples_are_found(corpus: tuple[Path, ResultDocument]) -> None:
    """The cases the issue names, asserted on the findings themselves."""
    _, document = corpus
    by_detection: dict[str, list[str]] = {}
    for finding in document.findings:
        by_detection.setdefault(finding.detection_id, []).append(finding.summary)
    commands = " ".join(by_detection["evtx.admin-commands"])
    for command in ("whoami", "net user", "ipconfig", "systeminfo", "netstat"):
        assert f"ran {command} " in commands, command
    shares = {
        (f.host, f.evidence[0].row.get("share"))
        for f in document.findings
        if f.detection_id == "evtx.admin-share-mapping"
    }
    assert (
        "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx",
        "ADMIN$",
    ) in shares
    assert ("EVTX-ATTACK-SAMPLES/Lateral Movement/LM_5145_Remote_FileCopy.evtx", "C$") in shares
    services = [f for f in document.findings if f.detection_id == "evtx.service-install"]
    psexec = [f for f in services if "metasploit-psexec" in (f.host or "")]
    assert len(psexec) >= 3 and all(f.severity == "high" for f in psexec)
    webshell = [f for f in document.findings if f.detection_id == "evtx.recon-unusual-parent"]
    assert any("w3wp.exe" in f.summary and "net user" in f.summary for f in webshell)
