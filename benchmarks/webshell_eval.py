"""Evaluation of the web-shell assessor (`seawall.features.webshell`): recall and false positives.

Recall is measured per folder of the tennc web-shell corpus (``../shared/data/webshells/
tennc-webshell/{php,asp}``), counting only files whose extension a web server would execute
(:data:`~seawall.features.webshell.WEB_EXTENSIONS`): the corpus also holds READMEs and images.
False positives are measured on benign web roots shipped by Debian (``wordpress``,
``tomcat10-examples``; ``apt-get install wordpress tomcat10-examples``), found with ``dpkg -L``,
and printed per 1,000 benign web files. Corpus files are read as bytes only, never executed.

Targets (issue 3): recall >= 90 % per folder, false positives <= 1 per 1,000 benign web files.
The script exits 1 when a target is missed or a data set is absent, 0 otherwise.

    python benchmarks/webshell_eval.py [--verbose] [--corpus DIR] [--package NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from seawall.features.webshell import WebshellAssessment, assess, read_head, web_files

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "webshells" / "tennc-webshell"
FOLDERS = ("php", "asp")
BENIGN_PACKAGES = ("wordpress", "tomcat10-examples")
RECALL_TARGET = 0.90
FP_PER_1000_TARGET = 1.0


@dataclass
class Tally:
    """Counted files of one set, with the names of the ones the assessor got wrong."""

    counted: int = 0
    flagged: int = 0
    wrong: list[tuple[str, WebshellAssessment]] = field(default_factory=list)


def tally(paths: Iterable[Path], *, malicious: bool) -> Tally:
    """Assess each file; record misses (malicious) or false alarms (benign)."""
    result = Tally()
    for path in paths:
        verdict = assess(read_head(path), path.name)
        result.counted += 1
        result.flagged += verdict.is_webshell
        if verdict.is_webshell != malicious:
            result.wrong.append((str(path), verdict))
    return result


def package_files(package: str) -> list[Path] | None:
    """Files installed by a Debian package (``dpkg -L``), or None when it is not installed."""
    try:
        out = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [Path(line) for line in out.splitlines() if line.startswith("/")]


def recall_of(folder: Path) -> Tally:
    """Tally of every web-extension file under one corpus folder."""
    return tally(web_files(sorted(folder.rglob("*"))), malicious=True)


def benign_tally(packages: Iterable[str]) -> tuple[Tally, list[str]]:
    """Tally over the benign packages' web files; also returns the packages that are missing."""
    files: list[Path] = []
    missing: list[str] = []
    for package in packages:
        listed = package_files(package)
        if listed is None:
            missing.append(package)
        else:
            files.extend(web_files(listed))
    return tally(sorted(set(files)), malicious=False), missing


def _describe(path: str, verdict: WebshellAssessment) -> str:
    why = "; ".join(verdict.reasons[:3]) or "no feature"
    return f"    {path}  score={verdict.score:.0f}  ({why})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--package", action="append", help="benign Debian package (repeatable)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and FPs")
    args = parser.parse_args(argv)
    ok = True
    started = time.perf_counter()
    for name in FOLDERS:
        folder = args.corpus / name
        if not folder.is_dir():
            print(f"recall {name}/: corpus folder {folder} is absent")
            ok = False
            continue
        t = recall_of(folder)
        recall = t.flagged / t.counted if t.counted else 0.0
        met = recall >= RECALL_TARGET
        ok &= met
        print(
            f"recall {name}/: {t.flagged}/{t.counted} web files = {recall:.1%} "
            f"(target >= {RECALL_TARGET:.0%}: {'met' if met else 'MISSED'})"
        )
        if args.verbose:
            for path, verdict in t.wrong:
                print(_describe(str(Path(path).relative_to(folder)), verdict))
    benign, missing = benign_tally(args.package or BENIGN_PACKAGES)
    if missing:
        print(f"benign: package(s) not installed: {', '.join(missing)} (apt-get install them)")
        ok = False
    rate = 1000 * benign.flagged / benign.counted if benign.counted else float("nan")
    met = benign.counted > 0 and rate <= FP_PER_1000_TARGET
    ok &= met
    print(
        f"false positives: {benign.flagged}/{benign.counted} benign web files = {rate:.2f} per "
        f"1,000 (target <= {FP_PER_1000_TARGET:g}: {'met' if met else 'MISSED'})"
    )
    if args.verbose:
        for path, verdict in benign.wrong:
            print(_describe(path, verdict))
    print(f"elapsed: {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
