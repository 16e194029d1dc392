"""`seawall report --format html|navigator|stix --out FILE` over a real case (CISA AA26-204A
intel, a Zeek DNS log, a hunt): what the renderers give, written where the command allows."""

from __future__ import annotations

import json
from pathlib import Path

from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.report.real_case import DOMAIN_INDICATOR, real_document


def test_html_navigator_and_stix_from_the_stored_hunt(tmp_path: Path, run_json: JsonRun) -> None:
    document = real_document(tmp_path)
    case = ["--case", str(tmp_path / "case")]
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    done = run_json([*case, "report", "--format", "html", "--out", str(page)], ExitCode.OK)
    assert done["format"] == "html" and done["run_id"] == document.run_id
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "i.mailnalysis.com" in text
    layer_file = tmp_path / "out" / "layer.json"
    run_json([*case, "report", "--format", "navigator", "--out", str(layer_file)], ExitCode.OK)
    layer = json.loads(layer_file.read_text(encoding="utf-8"))
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    assert scores["T1071.004"] > 0
    bundle_file = tmp_path / "out" / "sightings.json"
    argv = [*case, "report", "--format", "stix", "--identity", "Example SOC"]
    run_json([*argv, "--out", str(bundle_file)], ExitCode.OK)
    bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    refs = {o["sighting_of_ref"] for o in bundle["objects"] if o["type"] == "sighting"}
    assert DOMAIN_INDICATOR in refs
    refused = run_json(
        [*case, "report", "--format", "stix", "--out", str(bundle_file)], ExitCode.USAGE
    )
    assert "--identity NAME" in refused["error"]["message"]
