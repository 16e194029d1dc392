"""Evaluation of the shipped YARA set (signature-base) on web shells: recall per collection and
language, and false positives per 1,000 benign server-side scripts.

Collections (``../shared/data/webshells``): tennc, xl7dev and threedr3am, counting the files a
web server would execute (:data:`~seawall.features.webshell.WEB_EXTENSIONS`); the language is told
by the extension. Benign scripts: the PHP, ASP and JSP files of Debian's ``wordpress`` and
``tomcat10-examples`` packages (``dpkg -L``). Files are read as bytes only, never executed.

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

    {"detector": "yara-default/scripts", "collection": "tennc", "path": "php/x.php",
     "sha256": "...", "language": "php", "benign": false, "flagged": true, "rules": ["..."]}

    python benchmarks/yara_eval.py [--verbose] [--assessor] [--jsonl verdicts.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from seawall.features.filetype import identify
from seawall.features.webshell import assess, read_head, web_files
from seawall.features.yara import externals_for, scan
from seawall.features.yara_set import Scope, set_info

WEBSHELLS = Path(__file__).resolve().parents[2] / "shared" / "data" / "webshells"
COLLECTIONS = {
    "tennc": "tennc-webshell",
    "xl7dev": "xl7dev-webshell",
    "threedr3am": "threedr3am-jsp-webshells",
}
BENIGN_PACKAGES = ("wordpress", "tomcat10-examples")
SCOPES: tuple[Scope, ...] = ("scripts", "all")
_LANGUAGE = {
    **dict.fromkeys(
        (".php", ".php3", ".php4", ".php5", ".php7", ".pht", ".phtml", ".phps", ".phar", ".inc"),
        "php",
    ),
    **dict.fromkeys((".asp", ".asa", ".cer", ".cdx"), "asp"),
    **dict.fromkeys(
        (".aspx", ".ashx", ".asmx", ".ascx", ".asax", ".axd", ".svc", ".cshtml", ".vbhtml"),
        "aspx",
    ),
    **dict.fromkeys((".jsp", ".jspf", ".jsw", ".jsv", ".jspx"), "jsp"),
    **dict.fromkeys((".pl", ".cgi", ".pm"), "perl"),
    **dict.fromkeys((".cfm", ".cfml", ".cfc"), "cfm"),
}


def language_of(path: Path) -> str:
    return _LANGUAGE.get(path.suffix.lower(), "other")


@dataclass(frozen=True, slots=True)
class Verdict:
    collection: str
    path: str
    sha256: str
    language: str
    benign: bool
    rules: dict[str, list[str]]
    """Matching rules per set (``scripts``, ``all``)."""
    assessor: float | None = None
    """The web-shell assessor's score when it calls the file a web shell, else ``None``; not run:
    ``nan``."""


def judge(path: Path, collection: str, shown: str, benign: bool, assessor: bool) -> Verdict:
    data = path.read_bytes()
    label = identify(data[:65536]).label
    md5 = hashlib.md5(data).hexdigest()  # Loki's md5 variable
    externals = externals_for(str(path), None, label, data[:65536], None, md5)
    rules: dict[str, list[str]] = {}
    for scope in SCOPES:
        outcome = scan(data, externals, scope)
        rules[scope] = [hit["rule"] for hit in json.loads(outcome.value)["hits"]]
    digest = hashlib.sha256(data).hexdigest()
    score: float | None = float("nan")
    if assessor:
        verdict = assess(read_head(path), path.name)
        score = verdict.score if verdict.is_webshell else None
    return Verdict(collection, shown, digest, language_of(path), benign, rules, score)


def _detectors(v: Verdict) -> dict[str, bool]:
    """Each detector's verdict on one file (the assessor's only when it ran)."""
    found = {f"yara-default/{scope}": bool(v.rules[scope]) for scope in SCOPES}
    if v.assessor is None or v.assessor == v.assessor:  # ran (nan: not run)
        found["webshell-assessor"] = v.assessor is not None
        found["either"] = found["webshell-assessor"] or found["yara-default/scripts"]
    return found


def package_files(package: str) -> list[Path] | None:
    """Files installed by a Debian package (``dpkg -L``), or None when it is not installed."""
    try:
        out = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [Path(line) for line in out.splitlines() if line.startswith("/")]


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
            out.write(json.dumps(record, sort_keys=True) + "\n")
            lines += 1
    return lines


def _rate(hit: int, total: int) -> str:
    return f"{hit}/{total} = {hit / total:.1%}" if total else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--webshells", type=Path, default=WEBSHELLS)
    parser.add_argument("--package", action="append", help="benign Debian package (repeatable)")
    parser.add_argument("--jsonl", type=Path, help="write per-file verdicts here")
    parser.add_argument("--assessor", action="store_true", help="also the web-shell assessor")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and FPs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ok = True
    verdicts: list[Verdict] = []
    print(f"set: {set_info().version} ({set_info().rules:,} rules)")
    for name, folder in COLLECTIONS.items():
        root = args.webshells / folder
        if not root.is_dir():
            print(f"{name}: collection {root} is absent")
            ok = False
            continue
        for path in web_files(sorted(root.rglob("*"))):
            shown = str(path.relative_to(root))
            verdicts.append(judge(path, name, shown, benign=False, assessor=args.assessor))
    for package in args.package or BENIGN_PACKAGES:
        listed = package_files(package)
        if listed is None:
            print(f"benign: package {package} is not installed (apt-get install it)")
            ok = False
            continue
        for path in web_files(sorted(set(listed))):
            verdicts.append(judge(path, package, str(path), benign=True, assessor=args.assessor))

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
    benign_names = set(args.package or BENIGN_PACKAGES)
    print("\nrecall (files flagged / files), per collection and language:")
    print(f"{'collection':12} {'language':8} " + " ".join(f"{heads[c]:>20}" for c in columns))
    for (collection, language), count in sorted(table.items()):
        if collection in benign_names:
            continue
        cells = " ".join(f"{_rate(count[c], count['files']):>20}" for c in columns)
        print(f"{collection:12} {language:8} {cells}")
    print("\nfalse positives on benign server-side scripts (per 1,000):")
    for package in sorted(benign_names):
        benign = table.get((package, "all"))
        if not benign:
            continue
        cells = " ".join(
            f"{benign[c]}/{benign['files']} = {1000 * benign[c] / benign['files']:.2f}".rjust(20)
            for c in columns
        )
        print(f"{package:21} {cells}")
    if args.verbose:
        for v in verdicts:
            wrong = bool(v.rules["scripts"]) == v.benign
            if wrong:
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
