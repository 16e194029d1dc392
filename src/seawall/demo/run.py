"""``seawall demo``: generate the scenario, collect it with seawall's own commands, hunt, judge.

Every collection and the hunt run as the ``seawall`` command a user would type (in this
process, with ``--json``; the commands are in ``manifest.json`` and shown in the summary so
they can be replayed by hand), against a case inside the demo folder. A piece of evidence whose
reader this seawall does not have yet (a log format, ``collect events``) is not collected, and
the summary says so: the ground-truth items that need it are then ``not-evaluated``, never
silently missing. The hunt's result document is the report (``report/hunt.json``) and is judged
against the ground truth (``report/assessment.json``).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seawall.demo.clock import DEFAULT_SEED
from seawall.demo.generate import Generated, generate
from seawall.demo.truth import Assessment, assess

CASE = "case"
REPORT = "report"
# Exit codes of a command that ran to its end: 0 ok, 1 findings (hunt), 5 hunt incomplete.
_DONE = {0, 1, 5}
_PLANE_ORDER = ("intel", "files", "events", "network", "auth", "disk")


@dataclass(slots=True)
class Stage:
    """One timed step of the demo: generation, a collection, the hunt, the report."""

    name: str
    plane: str
    seconds: float
    rows: int = 0
    status: str = "ok"
    """ok, skipped (no reader for it in this seawall) or failed"""
    command: list[str] = field(default_factory=list)
    note: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DemoResult:
    out: Path
    seed: int
    scale: int
    stages: list[Stage]
    document: dict[str, Any] | None
    assessment: Assessment | None
    putty: str

    @property
    def case(self) -> Path:
        return self.out / CASE

    @property
    def report(self) -> Path:
        return self.out / REPORT / "hunt.json"

    def as_dict(self) -> dict[str, Any]:
        findings = (self.document or {}).get("findings") or []
        return {
            "out": str(self.out),
            "case": str(self.case),
            "report": str(self.report),
            "ground_truth": str(self.out / "ground-truth.json"),
            "seed": self.seed,
            "scale": self.scale,
            "putty": self.putty,
            "stages": [asdict(stage) for stage in self.stages],
            "findings": len(findings),
            "unsuppressed": sum(1 for f in findings if not f.get("suppressed")),
            "assessment": self.assessment.as_dict() if self.assessment else None,
        }


def missing_capability(need: str) -> str | None:
    """Why this seawall cannot run a collection that needs ``need`` (None: it can)."""
    if need.startswith("log format "):
        from seawall.collect.logs import formats

        name = need.removeprefix("log format ")
        if name not in formats():
            return f"this seawall has no `{name}` format for `collect logs` yet"
        return None
    if need == "collect events":
        from seawall.cli.collect import app

        if "events" not in {command.name for command in app.registered_commands}:
            return "this seawall has no `collect events` command yet"
    return None


def known_detections() -> set[str]:
    """The detection ids this seawall ships."""
    from seawall.detect.engine import load_detections

    return set(load_detections())


def _hunt_command(hunt: dict[str, Any]) -> tuple[list[str], str | None]:
    """The hunt as the manifest wants it, less the options this seawall's hunt lacks."""
    from seawall.cli.hunt import hunt as hunt_command

    options = inspect.signature(hunt_command).parameters
    command = ["hunt", "--pack", hunt["pack"]]
    dropped = []
    if "allowlist" in options:
        for path in hunt["allowlists"]:
            command += ["--allowlist", path]
    else:
        dropped.append("--allowlist")
    if "param" in options:
        for detection, values in hunt["parameters"].items():
            for key, value in values.items():
                command += ["--param", f"{detection}.{key}={json.dumps(value)}"]
    else:
        dropped.append("--param (trusted networks)")
    note = None
    if dropped:
        note = f"not given: {', '.join(dropped)} (this seawall's hunt has no such option yet)"
    return command, note


def run_seawall(out: Path, arguments: list[str], case: str = CASE) -> tuple[int, Any, str]:
    """Run ``seawall --case CASE ARGUMENTS --json`` in this process, from ``out``; returns the
    exit code, the JSON document it printed and what it wrote on stderr."""
    from seawall.cli.app import run

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(out),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        code = run(["--case", case, *arguments, "--json"])
    text = stdout.getvalue().strip()
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    return code, document, stderr.getvalue()


def _rows(document: Any) -> int:
    """The number of records a command's JSON report says it read."""
    if not isinstance(document, dict):
        return 0
    if isinstance(document.get("rows"), dict):
        return int(sum(document["rows"].values()))
    for key in ("files", "imported_rows", "indicators"):
        if isinstance(document.get(key), int):
            return int(document[key])
    return 0


def _warnings(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.strip().startswith("warning:")]


def _error(document: Any, stderr: str) -> str:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        where = f"{error['location']}: " if error.get("location") else ""
        return f"{where}{error.get('message')}"
    return stderr.strip().splitlines()[-1] if stderr.strip() else "failed"


def _collect(generated: Generated, say: Callable[[Stage], None]) -> list[Stage]:
    stages: list[Stage] = []
    entries = sorted(generated.manifest.files, key=lambda e: _PLANE_ORDER.index(e.plane))
    for entry in entries:
        name = f"{entry.plane}: {entry.format}" + (f" {entry.host}" if entry.host else "")
        reason = missing_capability(entry.needs)
        if reason is not None:
            stage = Stage(name, entry.plane, 0.0, 0, "skipped", entry.command, reason)
        else:
            started = time.perf_counter()
            code, document, stderr = run_seawall(generated.out, entry.command)
            elapsed = time.perf_counter() - started
            status = "ok" if code == 0 else "failed"
            note = None if code == 0 else f"exit {code}: {_error(document, stderr)}"
            stage = Stage(
                name,
                entry.plane,
                elapsed,
                _rows(document),
                status,
                entry.command,
                note,
                _warnings(stderr),
            )
        stages.append(stage)
        say(stage)
    return stages


def _render_reports(document: dict[str, Any], folder: Path) -> str:
    """The HTML report and the ATT&CK Navigator layer beside the JSON result document."""
    from seawall.model.finding import ResultDocument
    from seawall.report.formats import render

    result = ResultDocument.model_validate(document)
    written = []
    for fmt, name in (("html", "report.html"), ("navigator", "navigator-layer.json")):
        (folder / name).write_text(render(result, fmt).text, encoding="utf-8")
        written.append(name)
    return "the result document (JSON), " + " and ".join(written)


def run_demo(
    out: Path,
    seed: int = DEFAULT_SEED,
    scale: int = 1,
    shared_data: Path | None = None,
    say: Callable[[Stage], None] = lambda _stage: None,
) -> DemoResult:
    """Generate into ``out``, collect into ``out/case``, hunt, write the report and judge it;
    ``say`` hears of each stage as it ends."""
    started = time.perf_counter()
    generated = generate(out, seed, scale, shared_data)
    records = sum(entry.records for entry in generated.manifest.files)
    stages = [Stage("generate", "generate", time.perf_counter() - started, records)]
    say(stages[0])
    stages += _collect(generated, say)
    command, note = _hunt_command(generated.hunt)
    started = time.perf_counter()
    code, document, stderr = run_seawall(out, command)
    elapsed = time.perf_counter() - started
    findings = len(document.get("findings") or []) if isinstance(document, dict) else 0
    hunted = code in _DONE and isinstance(document, dict) and "findings" in document
    hunt_note = note if hunted else f"exit {code}: {_error(document, stderr)}"
    stages.append(
        Stage(
            "hunt",
            "hunt",
            elapsed,
            findings,
            "ok" if hunted else "failed",
            command,
            hunt_note,
            _warnings(stderr),
        )
    )
    say(stages[-1])
    assessment = None
    if hunted:
        assert isinstance(document, dict)
        started = time.perf_counter()
        folder = out / REPORT
        folder.mkdir(exist_ok=True)
        (folder / "hunt.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        assessment = assess(generated.truth, document, known_detections())
        (folder / "assessment.json").write_text(
            json.dumps(assessment.as_dict(), indent=2) + "\n", encoding="utf-8"
        )
        note = _render_reports(document, folder)
        stages.append(Stage("report", "report", time.perf_counter() - started, findings, note=note))
        say(stages[-1])
    putty = str(generated.truth["scenario"]["putty"])
    return DemoResult(out, seed, scale, stages, document if hunted else None, assessment, putty)
