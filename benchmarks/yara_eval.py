"""Evaluation of the shipped YARA set (signature-base) on web shells: recall per collection and
language, and false positives per 1,000 benign server-side scripts.

Files: those of :mod:`webshell_corpus`, shared with ``webshell_eval.py`` (the same collections,
the same web extensions, the same exclusion list ``webshell_excluded.toml`` and the same benign
Debian packages), so that both scripts print the same counts. Files are read as bytes only,
never executed.

Each file is scanned as the sweep scans it: with the external variables it would get (name, path,
extension, Loki file type, MD5) and with the **scripts** set the default policy gives a server-side
script (web-shell and exploitation rules); the **all** column scans it with every shipped rule
(what ``collect files --yara-all`` does). Note: signature-base itself holds rules written from
public web-shell collections, some of these very files among them (rule names such as
``Txt_aspx1`` or ``ChinaChopper_temp_3`` name their sample), so recall here is what a Loki or
THOR user gets on known shells, not a measure of generalisation to new ones.

``--assessor`` also runs this checkout's web-shell assessor (:mod:`seawall.features.webshell`) on
the same files and prints its recall and the recall of either detector (a file flagged by the
YARA scripts' set or by the assessor). ``--jsonl FILE`` writes one verdict per file and detector,
so another detector's verdicts (a newer assessor's) can be combined with these by ``collection``
and ``path`` (or ``sha256``)::

    {"detector": "yara-default/scripts", "collection": "tennc-webshell", "path": "php/x.php",
     "sha256": "...", "language": "php", "benign": false, "flagged": true, "rules": ["..."]}

    python benchmarks/yara_eval.py [--verbose [--holdout]] [--assessor] [--jsonl verdicts.jsonl]
        [--no-download]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks.webshell_corpus, shared with webshell_eval.py

from benchmarks.webshell_corpus import (  # noqa: E402
    CORPORA,
    Sample,
    benign,
    corpus,
    load_exclusions,
    shipped_yara,
)

from seawall.features.webshell import assess, read_head  # noqa: E402
from seawall.features.yara_set import Scope, set_info  # noqa: E402

SCOPES: tuple[Scope, ...] = ("scripts", "all")


@dataclass(frozen=True, slots=True)
class Verdict:
    collection: str
    path: str
    sha256: str
    language: str
    benign: bool
    rules: dict[str, list[str]]
    """Matching rules per set (``scripts``, ``all``)."""
    half: str
    """The corpus half (``seen``, ``tuning``, ``holdout``; ``benign``)."""
    assessor: float | None = None
    """The web-shell assessor's score when it calls the file a web shell, else ``None``; not run:
    ``nan``."""


def judge(sample: Sample, shown: str, benign: bool, assessor: bool) -> Verdict:
    data = read_head(sample.path)  # what the sweep scans of a script (its size cap)
    rules: dict[str, list[str]] = {s: shipped_yara(sample.path, data, s) for s in SCOPES}
    digest = hashlib.sha256(data).hexdigest()
    score: float | None = float("nan")
    if assessor:
        verdict = assess(data, sample.path.name)
        score = verdict.score if verdict.is_webshell else None
    return Verdict(
        sample.collection, shown, digest, sample.language, benign, rules, sample.half, score
    )


def _detectors(v: Verdict) -> dict[str, bool]:
    """Each detector's verdict on one file (the assessor's only when it ran)."""
    found = {f"yara-default/{scope}": bool(v.rules[scope]) for scope in SCOPES}
    if v.assessor is None or v.assessor == v.assessor:  # ran (nan: not run)
        found["webshell-assessor"] = v.assessor is not None
        found["either"] = found["webshell-assessor"] or found["yara-default/scripts"]
    return found


def write_jsonl(out: TextIO, verdicts: list[Verdict]) -> int:
    lines = 0
    for v in verdicts:
        for detector, flagged in _detectors(v).items():
            if detector == "either":
                continue
            scope = detector.split("/")[-1]
            record = {
                "detector": detector,
                "collection": v.collection,
                "path": v.path,
                "sha256": v.sha256,
                "language": v.language,
                "benign": v.benign,
                "flagged": flagged,
                "rules": v.rules.get(scope, []),
            }
            if detector == "webshell-assessor":
                record["score"] = v.assessor
            record["half"] = v.half
            out.write(json.dumps(record, sort_keys=True) + "\n")
            lines += 1
    return lines


def _rate(hit: int, total: int) -> str:
    return f"{hit}/{total} = {hit / total:.1%}" if total else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--webshells", type=Path, default=CORPORA)
    parser.add_argument("--jsonl", type=Path, help="write per-file verdicts here")
    parser.add_argument("--assessor", action="store_true", help="also the web-shell assessor")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and FPs")
    parser.add_argument(
        "--holdout", action="store_true", help="with -v: also list holdout misses (do not tune!)"
    )
    parser.add_argument(
        "--no-download", action="store_true", help="skip benign packages not cached"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ok = True
    verdicts: list[Verdict] = []
    print(f"set: {set_info().version} ({set_info().rules:,} rules)")
    samples, excluded, missing = corpus(args.webshells, load_exclusions())
    for folder in missing:
        print(f"corpus folder {folder} is absent")
        ok = False
    print(f"{len(excluded)} files excluded (webshell_excluded.toml: they cannot be web shells)")
    for sample in samples:
        shown = str(sample.path.relative_to(args.webshells / sample.collection))
        verdicts.append(judge(sample, shown, benign=False, assessor=args.assessor))
    good, absent = benign(not args.no_download)
    if absent:
        print(f"benign: package(s) not available: {', '.join(absent)}")
        ok = False
    for sample in good:
        verdicts.append(judge(sample, str(sample.path), benign=True, assessor=args.assessor))
    benign_names = {sample.collection for sample in good}

    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        keys = [(v.collection, v.language), (v.collection, "all")]
        if not v.benign:
            keys += [("every", v.language), ("every", "all")]
        for key in keys:
            table[key]["files"] += 1
            for detector, flagged in _detectors(v).items():
                table[key][detector] += flagged
    columns = ["yara-default/scripts", "yara-default/all"]
    if args.assessor:
        columns += ["webshell-assessor", "either"]
    heads = {"yara-default/scripts": "YARA scripts' set", "yara-default/all": "YARA all rules"}
    heads |= {"webshell-assessor": "assessor", "either": "either"}
    print("\nrecall (files flagged / files), per collection and language:")
    print(f"{'collection':24} {'language':8} " + " ".join(f"{heads[c]:>20}" for c in columns))
    for (collection, language), count in sorted(table.items()):
        if collection in benign_names:
            continue
        cells = " ".join(f"{_rate(count[c], count['files']):>20}" for c in columns)
        print(f"{collection:24} {language:8} {cells}")
    print("\nfalse positives on benign server-side scripts (per 1,000):")
    for package in sorted(benign_names):
        counts = table.get((package, "all"))
        if not counts:
            continue
        cells = " ".join(
            f"{counts[c]}/{counts['files']} = {1000 * counts[c] / counts['files']:.2f}".rjust(20)
            for c in columns
        )
        print(f"{package:33} {cells}")
    if args.verbose:
        for v in verdicts:
            wrong = bool(v.rules["scripts"]) == v.benign
            if wrong and (v.half != "holdout" or args.holdout):
                kind = "FP" if v.benign else "miss"
                print(f"  {kind} {v.collection}/{v.path} {v.rules['scripts'] or v.rules['all']}")
    if args.jsonl:
        with args.jsonl.open("w", encoding="utf-8") as out:
            lines = write_jsonl(out, verdicts)
        print(f"\nverdicts: {args.jsonl} ({lines:,} lines)")
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
