"""The web-shell corpora and benign scripts that ``webshell_eval.py`` and ``yara_eval.py`` both
count, so that the two print one consistent set of figures.

**Corpora** (``../shared/data/webshells``): ``tennc-webshell`` (php/, asp/, pl/),
``xl7dev-webshell`` (every folder) and ``threedr3am-jsp-webshells``. Only files whose extension a
web server executes count (:data:`~seawall.features.webshell.WEB_EXTENSIONS`); the language is
told by the extension (what the server would run the file as, never the corpus folder). Files
that cannot be web shells by their content are listed in ``webshell_excluded.toml`` with the
content property that excludes them; each entry's SHA-256 and, where the property is mechanical,
the property itself are checked, and the list is printed so that nothing is dropped silently.

**Halves.** The tennc php/ and asp/ folders were used for tuning before anything was split
("seen"). Every other file falls into a *tuning* or a *holdout* half by the first byte of its
SHA-256 (content, not name): rules may be written looking at the tuning half only.

**Held back** (never looked at while writing rules; a generalisation check on shells from other
authors): the web shells two Debian packages ship, fetched with ``apt-get download`` and unpacked
into a cache without installing them. ``sqlmap`` keeps its ASP/ASPX/JSP/PHP backdoors (command
pages) and stagers (uploaders) cloaked (zlib + XOR); they are decoded with sqlmap's own
``extra/cloak/cloak.py``. ``weevely`` generates its PHP agent from templates: its own generator
runs under Debian's ``python3`` (it needs ``python3-mako`` and ``python3-prettytable``) with fixed
random seeds. Neither corpus's files are executed, only read.

**Benign** server-side scripts shipped by Debian: packages installed here (``dpkg -L``:
``wordpress``, ``tomcat10-examples``, gitweb's CGI in ``git``) and packages unpacked without
installing (``asp.net-examples`` would pull ~160 Mono packages; ``tomcat10-admin``, ``awstats``,
``rancid-cgi``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seawall.features.filetype import identify
from seawall.features.webshell import read_head, web_files
from seawall.features.yara import externals_for, scan
from seawall.features.yara_set import Scope

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPORA = DATA / "webshells"
#: (collection, sub-folders or None for all).
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
#: A wider benign check, outside issue 13's target: large PHP applications whose pages do what
#: shells also do (a database manager, a wiki with a media manager, a webmail client).
WIDE_BENIGN = ("phpmyadmin", "dokuwiki", "roundcube-core")
CACHE = Path.home() / ".cache" / "seawall-bench" / "debs"
#: Decoded or generated held-back shells are written here (never served, never run).
HELD_BACK_DIR = Path.home() / ".cache" / "seawall-bench" / "held-back"
#: Debian's own interpreter runs weevely's generator (the venv has no mako).
SYSTEM_PYTHON = "/usr/bin/python3"
#: weevely agents: (obfuscator template, random seed); the obfuscated one is randomised, so three
#: seeds give three layouts of the same agent.
WEEVELY_AGENTS = (("obfusc1_php", 1), ("obfusc1_php", 2), ("obfusc1_php", 3), ("cleartext1_php", 1))

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


def language_of(path: Path) -> str:
    return LANGUAGES.get(path.suffix.lower(), "other")


@dataclass(frozen=True, slots=True)
class Sample:
    """One corpus or benign file."""

    path: Path
    collection: str
    language: str
    half: str  # "seen", "tuning", "holdout"; "held-back" (other corpora); "benign" for benign


def half_of(data: bytes) -> str:
    """The deterministic half a file belongs to, by its content's SHA-256."""
    return "holdout" if hashlib.sha256(data).digest()[0] & 1 else "tuning"


# --- exclusions --------------------------------------------------------------------------------

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
_PHP_REQUEST_RE = re.compile(
    rb"\$_(?:get|post|request|cookie|files|server|env)\b|\$http_\w+_vars|php://input|getenv\s*\(",
    re.I,
)
# Calls that run code or commands, touch files or the network, or call a computed name.
_PHP_ACTION_RE = re.compile(
    rb"(?<![\w$>:])(?:eval|assert|system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec"
    rb"|fopen|file_put_contents|fwrite|fputs|unlink|rename|copy|move_uploaded_file|mkdir"
    rb"|\w*_connect|fsockopen|curl_\w+|create_function|preg_replace|call_user_func\w*"
    rb"|include|require|include_once|require_once|mail)\s*\(|\$\w+\s*\(|`",
    re.I,
)


def property_holds(prop: str, data: bytes) -> bool | None:
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
    if prop == "cli-only":
        return bool(re.search(rb"\$argv\b", data)) and not _PHP_REQUEST_RE.search(data)
    if prop == "inert-include":
        return not _PHP_REQUEST_RE.search(data) and not _PHP_ACTION_RE.search(data)
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
                    holds = property_holds(exclusions[digest].prop, data)
                    check = {True: "checked", False: "PROPERTY FAILS", None: "reviewed"}[holds]
                    excluded.append((path, exclusions[digest], check))
                    continue
                seen = (collection, path.relative_to(base).parts[0]) in SEEN
                samples.append(
                    Sample(
                        path,
                        collection,
                        language_of(path),
                        "seen" if seen else half_of(data),
                    )
                )
    return samples, excluded, missing


# --- Debian packages ---------------------------------------------------------------------------


def package_files(package: str) -> list[Path] | None:
    """Files installed by a Debian package (``dpkg -L``), or None when it is not installed."""
    try:
        out = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [Path(line) for line in out.splitlines() if line.startswith("/")]


def unpacked_root(package: str, *, download: bool) -> Path | None:
    """Where a Debian package is unpacked (not installed) under :data:`CACHE`, or None."""
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
    return target


def unpacked_files(package: str, *, download: bool) -> list[Path] | None:
    """Files of a Debian package unpacked under :data:`CACHE`, or None."""
    target = unpacked_root(package, download=download)
    return None if target is None else sorted(p for p in target.rglob("*"))


def benign(download: bool, *, wide: bool = False) -> tuple[list[Sample], list[str]]:
    """Benign samples of every package (``wide``: of :data:`WIDE_BENIGN` instead), and the
    packages that could not be had."""
    samples: list[Sample] = []
    missing: list[str] = []
    sources: list[tuple[str, list[Path] | None]] = []
    if wide:
        sources = [(p, unpacked_files(p, download=download)) for p in WIDE_BENIGN]
    else:
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
            samples.append(Sample(path, package, language_of(path), "benign"))
    return samples, missing


# --- held-back corpora -------------------------------------------------------------------------


def _sqlmap(download: bool) -> list[Sample] | str:
    """sqlmap's backdoors and stagers, decoded with its own cloak module."""
    root = unpacked_root("sqlmap", download=download)
    if root is None:
        return "sqlmap: package not cached (run without --no-download)"
    share = root / "usr" / "share" / "sqlmap"
    spec = importlib.util.spec_from_file_location("sqlmap_cloak", share / "extra/cloak/cloak.py")
    if spec is None or spec.loader is None:
        return "sqlmap: extra/cloak/cloak.py is missing"
    cloak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cloak)
    out = HELD_BACK_DIR / "sqlmap"
    out.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for cloaked in sorted((share / "data" / "shell").glob("*/*_")):
        target = out / cloaked.name[:-1]  # backdoor.php_ -> backdoor.php
        target.write_bytes(cloak.decloak(inputFile=str(cloaked)))
        samples.append(Sample(target, "sqlmap", language_of(target), "held-back"))
    return samples


_WEEVELY_CHILD = """
import random, sys
from core.generate import generate
obfuscator, seed = sys.argv[1], int(sys.argv[2])
random.seed(seed)
sys.stdout.write(generate("held-back", obfuscator))
"""


def _weevely(download: bool) -> list[Sample] | str:
    """weevely's PHP agent, generated by its own code under Debian's python3."""
    root = unpacked_root("weevely", download=download)
    if root is None:
        return "weevely: package not cached (run without --no-download)"
    share = root / "usr" / "share" / "weevely"
    out = HELD_BACK_DIR / "weevely"
    out.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for obfuscator, seed in WEEVELY_AGENTS:
        try:
            done = subprocess.run(
                [SYSTEM_PYTHON, "-c", _WEEVELY_CHILD, obfuscator, str(seed)],
                cwd=share,
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONPATH": str(share), "PATH": "/usr/bin:/bin"},
            )
        except (OSError, subprocess.CalledProcessError) as error:
            tail = getattr(error, "stderr", "") or str(error)
            return (
                "weevely: its generator failed (apt-get install python3-mako"
                f" python3-prettytable): {tail.strip().splitlines()[-1:]}"
            )
        target = out / f"agent-{obfuscator}-{seed}.php"
        target.write_text(done.stdout, encoding="utf-8")
        samples.append(Sample(target, "weevely", "php", "held-back"))
    return samples


def held_back(download: bool) -> tuple[list[Sample], list[str]]:
    """The held-back corpora's samples, and why a corpus could not be had."""
    samples: list[Sample] = []
    missing: list[str] = []
    for make in (_sqlmap, _weevely):
        got = make(download)
        if isinstance(got, str):
            missing.append(got)
        else:
            samples += got
    return samples, missing


# --- the shipped YARA set, as the sweep runs it -------------------------------------------------


def shipped_yara(path: Path, data: bytes, scope: Scope = "scripts") -> list[str]:
    """Rules of the shipped set ``scope`` that match ``data``, scanned as the sweep scans the file
    (its name, path, extension, Loki file type and MD5 as external variables)."""
    label = identify(data[:65536]).label
    md5 = hashlib.md5(data).hexdigest()  # Loki's md5 variable
    externals = externals_for(str(path), None, label, data[:65536], None, md5)
    outcome = scan(data, externals, scope)
    return [hit["rule"] for hit in json.loads(outcome.value)["hits"]]
