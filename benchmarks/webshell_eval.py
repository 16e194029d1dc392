"""Evaluation of the web-shell assessor (`seawall.features.webshell`): recall and false positives.

Recall is measured **per language** (by file extension: what the server would run the file as,
never by corpus folder) and per collection over three corpora under ``../shared/data/webshells``:
``tennc-webshell`` (php/, asp/, pl/), ``xl7dev-webshell`` (every language folder) and
``threedr3am-jsp-webshells`` (evasive Java families). Only files whose extension a web server
executes count (:data:`~seawall.features.webshell.WEB_EXTENSIONS`): the corpora also hold
READMEs, licences and images. Files that cannot be web shells by their content (an HTML page with
no server-side code, an empty file) are listed in ``webshell_excluded.toml`` with the content
property that excludes them; the script checks each entry's SHA-256 and, where the property is
mechanical, the property itself, and prints the list so that nothing is dropped silently.

**Holdout.** The tennc php/ and asp/ folders were used to tune the assessor before this script
split anything. Every other file falls into one of two halves by the first byte of its SHA-256
(content, not name): the *tuning* half may be looked at while rules are written, the *holdout*
half may not, and its recall is printed separately so that over-fitting shows.

False positives are measured on benign server-side scripts shipped by Debian: packages installed
on this machine (``dpkg -L``: ``wordpress``, ``tomcat10-examples``) and packages fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` into a cache folder without installing
them (``asp.net-examples`` needs Mono, ~160 packages: unpacking its pages is enough to read
them). They are printed per 1,000 benign scripts, with the assessor's CPU time per benign file.

A second detector can be combined with the assessor: ``--yara-rules FILE`` (rules compiled by
yara-x and saved with ``Rules.serialize_into``) or ``--yara-dir DIR`` (``.yar`` files compiled
here; a file that does not compile is skipped and counted). Each table then has the columns
"YARA alone", "assessor alone" and "both" (a file either of them flags). Corpus files are read as
bytes only, never executed.

Targets (issue 13): assessor alone >= 90 % recall per language with >= 20 samples; false positives
<= 1 per 1,000 benign scripts. The script exits 1 when a target is missed or a data set is
absent, 0 otherwise.

    python benchmarks/webshell_eval.py [-v] [--yara-dir DIR | --yara-rules FILE] [--no-download]
        [--baseline-src OLD/src]    # also CPU per benign file against an older assessor
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seawall.features.webshell import (
    WebshellAssessment,
    assess,
    read_head,
    web_files,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPORA = DATA / "webshells"
SIGNATURE_BASE = DATA / "yara" / "signature-base" / "yara"
#: (collection, sub-folders or None for all, whether it was used for tuning before the split).
COLLECTIONS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("tennc-webshell", ("php", "asp", "pl")),
    ("xl7dev-webshell", None),
    ("threedr3am-jsp-webshells", None),
)
#: Folders tuned on before the holdout split existed (their files are all "seen").
SEEN = {("tennc-webshell", "php"), ("tennc-webshell", "asp")}
EXCLUDED = Path(__file__).with_name("webshell_excluded.toml")
#: Benign packages installed here, with the folder their web scripts are in ("": all their files;
#: gitweb's CGI ships in the ``git`` package beside Perl modules that are no web pages).
INSTALLED_BENIGN = (("wordpress", ""), ("tomcat10-examples", ""), ("git", "/usr/share/gitweb/"))
#: Benign packages unpacked without installing (apt-get download + dpkg-deb -x).
UNPACKED_BENIGN = ("asp.net-examples", "tomcat10-admin", "awstats", "rancid-cgi")
CACHE = Path.home() / ".cache" / "seawall-bench" / "debs"
RECALL_TARGET = 0.90
MIN_SAMPLES = 20
FP_PER_1000_TARGET = 1.0

#: Language of a file by its extension (the server's view); JSPX is JSP, ASHX/ASMX are ASP.NET.
LANGUAGES: dict[str, str] = {
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
    **dict.fromkeys((".cfm", ".cfml", ".cfc"), "cfml"),
}

#: A detector: (bytes, file name) -> whether it flags the file.
Detector = Callable[[bytes, str], bool]


@dataclass(frozen=True, slots=True)
class Sample:
    """One corpus or benign file."""

    path: Path
    collection: str
    language: str
    half: str  # "seen" (tuned before the split), "tuning" or "holdout"; "benign" for benign


@dataclass
class Tally:
    """Counted files of one set: how many each detector flagged, and what the assessor got wrong."""

    counted: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    wrong: list[tuple[Sample, WebshellAssessment]] = field(default_factory=list)
    cpu: float = 0.0  # assessor CPU seconds over the set

    def rate(self, detector: str) -> float:
        return self.flagged.get(detector, 0) / self.counted if self.counted else float("nan")


def tally(
    samples: Iterable[Sample],
    *,
    malicious: bool,
    others: Mapping[str, Detector] | None = None,
) -> dict[str, Tally]:
    """Assess each sample and run the ``others`` detectors on it, keyed by group.

    Groups: ``lang:<language>``, ``coll:<collection>``, each again with ``/<half>``, and ``all``.
    Counted detectors: ``assessor``, each of ``others`` by name, and ``both`` (the assessor or any
    other detector flags the file), so a signature set can be judged alone and combined.
    """
    out: dict[str, Tally] = {}
    for sample in samples:
        data = read_head(sample.path)
        began = time.process_time()
        verdict = assess(data, sample.path.name)
        cpu = time.process_time() - began
        hits = {"assessor": verdict.is_webshell}
        for name, detector in (others or {}).items():
            hits[name] = detector(data, sample.path.name)
        if others:
            hits["both"] = any(hits.values())
        keys = ("all", f"lang:{sample.language}", f"coll:{sample.collection}")
        for key in (*keys, *(f"{k}/{sample.half}" for k in keys)):
            t = out.setdefault(key, Tally())
            t.counted += 1
            t.cpu += cpu
            for name, hit in hits.items():
                t.flagged[name] = t.flagged.get(name, 0) + hit
            if verdict.is_webshell != malicious and "/" not in key and key.startswith("lang:"):
                t.wrong.append((sample, verdict))
    return out


# --- corpus ----------------------------------------------------------------------------------


def half_of(data: bytes) -> str:
    """The deterministic half a file belongs to, by its content's SHA-256."""
    return "holdout" if hashlib.sha256(data).digest()[0] & 1 else "tuning"


_SERVER_CODE_RE = re.compile(
    rb"<\?(?!xml)|<%|runat\s*=\s*['\"]?server|<cf[a-z]|^#!|<jsp:|<!--\s*#\s*include", re.I | re.M
)
_CGI_INPUT_RE = re.compile(
    rb"param\s*\(|->\s*param|query_string|content_length|request_method|\bcgi\b|http_|readparse",
    re.I,
)
_SCRIPT_BLOCK_RE = re.compile(
    rb"<script[^>]*runat\s*=\s*['\"]?server[^>]*>(.*?)</script>", re.I | re.S
)
_INCLUDE_RE = re.compile(rb"<!--\s*#\s*include\s[^>]*-->", re.I)


def _property_holds(prop: str, data: bytes) -> bool | None:
    """Whether a mechanical exclusion property holds of ``data`` (None: a reviewed judgement)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        data = data.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if prop == "empty":
        return not data.strip()
    if prop == "no-server-code":
        return not _SERVER_CODE_RE.search(data)
    if prop == "stripped-code":
        blocks = _SCRIPT_BLOCK_RE.findall(data) + re.findall(rb"<%(.*?)%>", data, re.S)
        return any(len(b) >= 1000 and not b.strip() for b in blocks)
    if prop == "no-cgi-input":
        return not _CGI_INPUT_RE.search(data)
    if prop == "include-only":
        return bool(_INCLUDE_RE.search(data)) and not _INCLUDE_RE.sub(b"", data).strip()
    return None


@dataclass(frozen=True, slots=True)
class Exclusion:
    sha256: str
    path: str
    prop: str
    why: str


def load_exclusions(path: Path = EXCLUDED) -> dict[str, Exclusion]:
    """The reviewed list of corpus files that cannot be web shells, keyed by SHA-256."""
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("excluded", [])
    return {
        e["sha256"]: Exclusion(e["sha256"], e["path"], e["property"], e["why"]) for e in entries
    }


def corpus(
    root: Path, exclusions: Mapping[str, Exclusion]
) -> tuple[list[Sample], list[tuple[Path, Exclusion, str]], list[str]]:
    """Corpus samples, the excluded files (with a check of their property) and missing folders."""
    samples: list[Sample] = []
    excluded: list[tuple[Path, Exclusion, str]] = []
    missing: list[str] = []
    for collection, folders in COLLECTIONS:
        base = root / collection
        tops = [base / f for f in folders] if folders else [base]
        for top in tops:
            if not top.is_dir():
                missing.append(str(top))
                continue
            for path in web_files(sorted(top.rglob("*"))):
                data = read_head(path)
                digest = hashlib.sha256(data).hexdigest()
                if digest in exclusions:
                    holds = _property_holds(exclusions[digest].prop, data)
                    check = {True: "checked", False: "PROPERTY FAILS", None: "reviewed"}[holds]
                    excluded.append((path, exclusions[digest], check))
                    continue
                seen = (collection, path.relative_to(base).parts[0]) in SEEN
                samples.append(
                    Sample(
                        path,
                        collection,
                        LANGUAGES.get(path.suffix.lower(), "other"),
                        "seen" if seen else half_of(data),
                    )
                )
    return samples, excluded, missing


# --- benign ----------------------------------------------------------------------------------


def package_files(package: str) -> list[Path] | None:
    """Files installed by a Debian package (``dpkg -L``), or None when it is not installed."""
    try:
        out = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [Path(line) for line in out.splitlines() if line.startswith("/")]


def unpacked_files(package: str, *, download: bool) -> list[Path] | None:
    """Files of a Debian package unpacked (not installed) under :data:`CACHE`, or None."""
    target = CACHE / package
    if not target.is_dir():
        if not download:
            return None
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["apt-get", "download", package], cwd=CACHE, capture_output=True, check=False
        )
        debs = sorted(CACHE.glob(f"{package}_*.deb"))
        if done.returncode or not debs:
            return None
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=True)
    return sorted(p for p in target.rglob("*"))


def benign(download: bool) -> tuple[list[Sample], list[str]]:
    """Benign samples of every package, and the packages that could not be had."""
    samples: list[Sample] = []
    missing: list[str] = []
    sources: list[tuple[str, list[Path] | None]] = []
    for package, folder in INSTALLED_BENIGN:
        listed = package_files(package)
        if listed is not None:
            listed = [p for p in listed if str(p).startswith(folder)]
        sources.append((folder.strip("/").rsplit("/", 1)[-1] if folder else package, listed))
    sources += [(p, unpacked_files(p, download=download)) for p in UNPACKED_BENIGN]
    for package, listed in sources:
        if listed is None:
            missing.append(package)
            continue
        for path in sorted(set(web_files(listed))):
            language = LANGUAGES.get(path.suffix.lower(), "other")
            samples.append(Sample(path, package, language, "benign"))
    return samples, missing


# --- CPU against an earlier assessor ----------------------------------------------------------

_CPU_CHILD = """
import json, sys, time
from pathlib import Path
from seawall.features.webshell import assess, read_head
items = [(read_head(Path(p)), Path(p).name, c) for p, c in json.load(sys.stdin)]
cpu = {}
for data, name, group in items:
    began = time.process_time()
    assess(data, name)
    cpu[group] = cpu.get(group, 0.0) + time.process_time() - began
print(json.dumps(cpu))
"""


def cpu_by_collection(src: Path, samples: list[Sample]) -> dict[str, float]:
    """Assessor CPU seconds per collection of ``samples``, measured in a child process that
    imports ``seawall`` from ``src`` (an older checkout's ``src`` folder, or this one's)."""
    import json

    listing = json.dumps([(str(s.path), s.collection) for s in samples])
    done = subprocess.run(
        [sys.executable, "-c", _CPU_CHILD],
        input=listing,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    return {k: float(v) for k, v in json.loads(done.stdout).items()}


def compare_cpu(baseline: Path, samples: list[Sample], rounds: int = 3) -> None:
    """Best-of-``rounds`` CPU per benign file, this assessor against ``baseline``, alternated
    (the machine is shared: alternating keeps both under the same load)."""
    here = Path(__file__).resolve().parents[1] / "src"
    best: dict[str, dict[str, float]] = {"before": {}, "after": {}}
    for _ in range(rounds):
        for label, src in (("before", baseline), ("after", here)):
            for group, cpu in cpu_by_collection(src, samples).items():
                best[label][group] = min(cpu, best[label].get(group, float("inf")))
    counts: dict[str, int] = {}
    for sample in samples:
        counts[sample.collection] = counts.get(sample.collection, 0) + 1
    print(f"assessor CPU per benign file, best of {rounds} (before = {baseline}):")
    rows = []
    for group in sorted(counts):
        b, a = best["before"].get(group, 0.0), best["after"].get(group, 0.0)
        n = counts[group]
        ratio = f"{a / b:.2f}x" if b else "-"
        rows.append((group, f"{1e6 * b / n:,.0f} us", f"{1e6 * a / n:,.0f} us", ratio))
    _print_table(rows, ("", "before", "after", "after/before"))


# --- YARA ------------------------------------------------------------------------------------

_EXTERNALS = {"filename": "", "filepath": "", "extension": "", "filetype": "", "owner": ""}


def yara_detector(rules_file: Path | None, rules_dir: Path | None) -> tuple[Detector, str]:
    """A detector from yara-x rules (a compiled file, or ``.yar`` files compiled here)."""
    import yara_x

    if rules_file is not None:
        with rules_file.open("rb") as handle:
            rules = yara_x.Rules.deserialize_from(handle)
        note = f"compiled rules {rules_file}"
    else:
        assert rules_dir is not None
        ok = failed = 0
        compiler = yara_x.Compiler()
        for name, value in _EXTERNALS.items():
            compiler.define_global(name, value)
        for path in sorted(rules_dir.rglob("*.yar*")):
            try:
                compiler.add_source(path.read_text(encoding="utf-8", errors="replace"))
                ok += 1
            except yara_x.CompileError:
                failed += 1
        rules = compiler.build()
        note = f"{ok} rule files of {rules_dir} compiled, {failed} skipped (yara-x errors)"

    def detect(data: bytes, name: str) -> bool:
        scanner = yara_x.Scanner(rules)
        ext = Path(name).suffix.lower().lstrip(".")
        for var, value in (("filename", name), ("filepath", name), ("extension", ext)):
            scanner.set_global(var, value)
        return bool(scanner.scan(data).matching_rules)

    return detect, note


# --- report ----------------------------------------------------------------------------------


def _cell(t: Tally | None, detector: str) -> str:
    if t is None or not t.counted:
        return "-"
    return f"{t.flagged.get(detector, 0)}/{t.counted} = {t.rate(detector):.1%}"


def _rows(
    results: Mapping[str, Tally], prefix: str, detectors: list[str]
) -> Iterable[tuple[str, ...]]:
    names = sorted({k.split("/")[0][len(prefix) :] for k in results if k.startswith(prefix)})
    for name in names:
        key = prefix + name
        for det in detectors:
            yield (
                name,
                det,
                _cell(results.get(key), det),
                _cell(results.get(f"{key}/seen"), det),
                _cell(results.get(f"{key}/tuning"), det),
                _cell(results.get(f"{key}/holdout"), det),
            )


def _print_table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> None:
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _describe(path: str, verdict: WebshellAssessment) -> str:
    why = "; ".join(verdict.reasons[:3]) or "no feature"
    return f"    {path}  score={verdict.score:.0f}  ({why})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and FPs")
    parser.add_argument(
        "--holdout", action="store_true", help="with -v: also list holdout misses (do not tune!)"
    )
    parser.add_argument("--yara-rules", type=Path, help="compiled yara-x rules (serialized)")
    parser.add_argument(
        "--yara-dir",
        type=Path,
        nargs="?",
        const=SIGNATURE_BASE,
        help=f"compile every .yar under DIR with yara-x (default {SIGNATURE_BASE})",
    )
    parser.add_argument(
        "--no-download", action="store_true", help="skip benign packages not cached"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="an earlier checkout's src/ folder: also print CPU per benign file before/after",
    )
    args = parser.parse_args(argv)
    ok = True
    started = time.perf_counter()
    others: dict[str, Detector] = {}
    if args.yara_rules or args.yara_dir:
        detector, note = yara_detector(args.yara_rules, args.yara_dir)
        others["yara"] = detector
        print(f"YARA: {note}")
    detectors = ["assessor", *others, *(["both"] if others else [])]

    exclusions = load_exclusions()
    samples, excluded, missing = corpus(args.corpora, exclusions)
    for folder in missing:
        print(f"corpus folder {folder} is absent")
        ok = False
    results = tally(samples, malicious=True, others=others)
    header = ("", "detector", "all", "seen (tuned before)", "tuning half", "holdout half")
    print("recall per language (by extension):")
    _print_table(_rows(results, "lang:", detectors), header)
    print("recall per collection:")
    _print_table(_rows(results, "coll:", detectors), header)
    for key, t in sorted(results.items()):
        if not key.startswith("lang:") or "/" in key:
            continue
        recall = t.rate("assessor")
        if t.counted >= MIN_SAMPLES:
            met = recall >= RECALL_TARGET
            ok &= met
            print(
                f"target {key[5:]}: assessor alone {recall:.1%} over {t.counted} files"
                f" (>= {RECALL_TARGET:.0%}: {'met' if met else 'MISSED'})"
            )
        if args.verbose:
            for sample, verdict in t.wrong:
                if sample.half == "holdout" and not args.holdout:
                    continue
                print(_describe(str(sample.path.relative_to(args.corpora)), verdict))
    print(f"excluded from recall ({len(excluded)} files that cannot be web shells by content):")
    for path, entry, check in excluded:
        print(f"    {path.relative_to(args.corpora)}  [{entry.prop}, {check}]  {entry.why}")
        ok &= check != "PROPERTY FAILS"

    good, absent = benign(not args.no_download)
    if absent:
        print(f"benign: package(s) not available: {', '.join(absent)}")
        ok = False
    fp = tally(good, malicious=False, others=others)
    print("false positives per 1,000 benign scripts:")
    rows = []
    for key in [*sorted(k for k in fp if "/" not in k and k != "all"), "all"]:
        t = fp[key]
        cells = [f"{t.flagged.get(d, 0)}/{t.counted} = {1000 * t.rate(d):.2f}" for d in detectors]
        rows.append((key, *cells, f"{1e6 * t.cpu / t.counted:,.0f} us"))
    _print_table(rows, ("", *detectors, "assessor CPU/file"))
    total = fp.get("all", Tally())
    rate = 1000 * total.rate("assessor") if total.counted else float("nan")
    met = total.counted > 0 and rate <= FP_PER_1000_TARGET
    ok &= met
    print(
        f"target false positives: assessor {total.flagged.get('assessor', 0)}/{total.counted}"
        f" = {rate:.2f} per 1,000 (<= {FP_PER_1000_TARGET:g}: {'met' if met else 'MISSED'})"
    )
    if args.verbose:
        for key, t in fp.items():
            if key.startswith("lang:") and "/" not in key:
                for sample, verdict in t.wrong:
                    print(_describe(str(sample.path), verdict))
    if args.baseline_src:
        compare_cpu(args.baseline_src, good)
    print(f"elapsed: {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
