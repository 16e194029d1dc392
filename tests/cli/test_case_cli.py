"""`seawall case info`, and the warning any command gives when opening a case rolls back a run."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from tests.conftest import cut_short


def test_a_run_cut_short_is_reported_on_stderr_when_a_command_opens_the_case(
    capsys: pytest.CaptureFixture[str], case_dir: Path
) -> None:
    with CaseStore.open(case_dir) as store:
        cut = store.start_run("collect files", {})  # and never finished: a killed sweep
        store.insert_arrow("files", pa.table({"path": ["/a", "/b"], "run_id": [cut, cut]}))
    cut_short(cut)
    capsys.readouterr()
    assert run(["--case", str(case_dir), "case", "info", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["tables"]["files"] == 0  # stdout is still one JSON document
    assert f"run {cut} (collect files" in err
    assert "discarded the 2 rows it had written" in err
