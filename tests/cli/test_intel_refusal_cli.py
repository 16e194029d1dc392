"""`intel import` refuses what is not intel: the files a responder meets beside an advisory.

Its README and notes, the checksum file of its attachments, ATT&CK exports and network logs are
refused with exit 3 and what they look like, the case unchanged; ``--format text`` forces.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.conftest import shared

REFUSED = [
    ("advisories/aa21-200a/README.md", "it looks like Markdown"),
    ("advisories/aa21-200a/MITIGATIONS.md", "it looks like Markdown"),
    ("advisories/cisa-stix/PROVENANCE.md", "it looks like Markdown"),
    ("advisories/cisa-stix/SHA256SUMS", "it is a checksum list"),
    (
        "advisories/aa21-200a/G0065_Leviathan_uses_attack-v10.1.csv",
        "a table whose columns are not indicators (columns: attack_id, object_type, name",
    ),
    ("advisories/aa21-200a/source-summary-ja.txt", "it looks like prose"),
    ("yara/signature-base/iocs/README.txt", "it looks like prose"),
]


@pytest.mark.parametrize(("relative", "fragment"), REFUSED, ids=[r for r, _ in REFUSED])
def test_advisory_material_that_is_not_intel_is_refused(
    relative: str, fragment: str, run_json: JsonRun, case_dir: Path
) -> None:
    path = shared(relative)
    payload = run_json(["--case", str(case_dir), "intel", "import", str(path)], ExitCode.BAD_INPUT)
    message = payload["error"]["message"]
    assert message.startswith("not an indicator list: ") and fragment in message
    assert payload["error"]["location"] == str(path)
    assert "--format text" in message  # and how to import it anyway


def test_a_zeek_log_is_refused_at_once(run_json: JsonRun, case_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "dns.log"
    log.write_bytes(
        gzip.decompress(shared("network/wrccdc2018-zeek/zeek-default/dns.log.gz").read_bytes())
    )
    payload = run_json(["--case", str(case_dir), "intel", "import", str(log)], ExitCode.BAD_INPUT)
    assert "it is a Zeek log" in payload["error"]["message"]
    assert (
        not (case_dir / "case.duckdb").exists()
        or run_json(["--case", str(case_dir), "case", "info"], ExitCode.OK)["tables"]["indicators"]
        == 0
    )


def test_one_refused_file_stops_the_whole_import(
    run_json: JsonRun, case_dir: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.txt"
    good.write_text("evil-apt.net\n", encoding="utf-8")
    argv = ["--case", str(case_dir), "intel", "import", str(good)]
    run_json([*argv, str(shared(REFUSED[3][0]))], ExitCode.BAD_INPUT)
    assert (
        run_json(["--case", str(case_dir), "case", "info"], ExitCode.OK)["tables"]["indicators"]
        == 0
    )


def test_format_text_forces_the_import(run_json: JsonRun, case_dir: Path) -> None:
    sums = shared("advisories/cisa-stix/SHA256SUMS")
    argv = ["--case", str(case_dir), "intel", "import", str(sums), "--format", "text"]
    imported = run_json(argv, ExitCode.OK)
    assert imported["by_type"]["sha256"] == 3 - imported["by_type"].get("file_name", 0)
    assert imported["files"][0]["format"] == "text"


def test_an_unknown_format_is_a_usage_error(run_json: JsonRun, case_dir: Path) -> None:
    sums = shared("advisories/cisa-stix/SHA256SUMS")
    argv = ["--case", str(case_dir), "intel", "import", str(sums), "--format", "pdf"]
    assert "unknown intel format 'pdf'" in run_json(argv, ExitCode.USAGE)["error"]["message"]
