"""Build the compact known-good binary set that seawall ships as package data.

AA21-200A lists MD5s of legitimate tools (PuTTY, cmd.exe…) next to real malware: an importer must
be able to say "this indicator is a known-good binary" offline, without a reputation service. The
xcyclopedia CSV (strontic/xcyclopedia, MIT) documents real Windows executables, but it is 7 MB of
mostly runtime output (help text, child processes, screenshots). seawall needs only what identifies
a binary and where it normally lives, so this script keeps exactly that: hashes, file name,
standard path, a short signer, company, product and original file name.

The output is deterministic (sorted rows, ``\\n`` line ends, gzip without name or mtime) so that a
rebuild from the same CSV reproduces the shipped file byte for byte, which a test checks.

Usage (from the project root)::

    python tools/build_knowngood.py \
        [--data ../shared/data/filesystem/xcyclopedia] [--out src/seawall/data/knowngood]

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "filesystem" / "xcyclopedia"
DEFAULT_OUT = ROOT / "src" / "seawall" / "data" / "knowngood"
SOURCE_NAME = "strontic-xcyclopedia-dev.csv"
OUT_NAME = "xcyclopedia.csv.gz"

# The shipped columns, in order; seawall.triage.knowngood reads the same names.
COLUMNS = (
    "md5",
    "sha1",
    "sha256",
    "file_name",
    "standard_path",
    "signer",
    "company",
    "product",
    "original_name",
)
_HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "sha1": re.compile(r"[0-9a-f]{40}")}
_HEX["sha256"] = re.compile(r"[0-9a-f]{64}")
# Hashes of zero bytes: a file with no content proves nothing about any binary.
EMPTY = frozenset(
    {
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
)
_CN = re.compile(r'(?:^|,)\s*CN=("(?:[^"]|"")*"|[^,]*)', re.IGNORECASE)
_SPACE = re.compile(r"\s+")

Row = dict[str, str]


def short_signer(subject: str) -> str:
    """The subject's common name ("Microsoft Windows"), which is what a reader recognises."""
    match = _CN.search(subject)
    if match is None:
        return clean(subject)
    name = match.group(1).strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('""', '"')
    return clean(name)


def clean(text: str) -> str:
    """One line, no padding: version-info strings sometimes carry newlines and NULs."""
    return _SPACE.sub(" ", text.replace("\x00", " ")).strip()


def compact_row(source: Mapping[str, str]) -> tuple[Row | None, str]:
    """The shipped row for one xcyclopedia record, or ``None`` and why it was dropped."""
    row: Row = {
        "md5": source.get("hash_md5", "").strip().lower(),
        "sha1": source.get("hash_sha1", "").strip().lower(),
        "sha256": source.get("hash_sha256", "").strip().lower(),
        "file_name": clean(source.get("file_name", "")).lower(),
        "standard_path": clean(source.get("file_path", "")),
        "signer": short_signer(source.get("signature_subject", "")),
        "company": clean(source.get("meta_company_name", "")),
        "product": clean(source.get("meta_product_name", "")),
        "original_name": clean(source.get("meta_original_filename", "")),
    }
    for kind, pattern in _HEX.items():
        if not pattern.fullmatch(row[kind]):
            return None, f"missing or malformed {kind}"
        if row[kind] in EMPTY:
            return None, "hash of an empty file"
    if not row["file_name"] or not row["standard_path"]:
        return None, "no file name or path"
    return row, ""


def read_rows(path: Path) -> tuple[list[Row], Counter[str], int]:
    """Compact rows (sorted, one per binary and path), reasons for drops, records read."""
    dropped: Counter[str] = Counter()
    kept: dict[tuple[str, str], Row] = {}
    total = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for source in csv.DictReader(handle):
            total += 1
            row, reason = compact_row(source)
            if row is None:
                dropped[reason] += 1
                continue
            key = (row["sha256"], row["standard_path"].lower())
            if key in kept:
                dropped["same binary at the same path twice"] += 1
                continue
            kept[key] = row
    rows = sorted(kept.values(), key=lambda r: (r["sha256"], r["standard_path"].lower(), r["md5"]))
    return rows, dropped, total


def encode(rows: Iterable[Row]) -> bytes:
    """Deterministic bytes: a header, ``\\n`` line ends, gzip without name or mtime."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([row[column] for column in COLUMNS] for row in rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def attribution(
    commit: str, sha256: str, total: int, rows: list[Row], dropped: Counter[str], licence: str
) -> str:
    drops = "".join(f"\n- {count:,} {reason}" for reason, count in sorted(dropped.items()))
    unique = len({row["sha256"] for row in rows})
    return f"""# Known-good Windows binaries (xcyclopedia) — attribution

`{OUT_NAME}` in this directory is a compact extract made by `tools/build_knowngood.py` from
`{SOURCE_NAME}` of [strontic/xcyclopedia](https://github.com/strontic/xcyclopedia) at commit
`{commit}` (a deterministic half of the upstream EXE list, as kept in seawall's shared data),
SHA-256 `{sha256}`.

Upstream documents executables observed on Windows installations. seawall uses it as a starting
known-good set: an intel hash that equals one of these binaries is flagged as a *dual-use
indicator* at import (a legitimate tool that an actor may run from the wrong place), never as
benign.

Kept, per binary and standard path: MD5, SHA-1 and SHA-256 (lower-case), the file name
(lower-case), the standard path as upstream recorded it, the signer (the common name of the
Authenticode subject), company, product and original file name from the version info. Everything
else (runtime output, child processes, screenshots, fuzzy hashes, VirusTotal links) is left out.

{total:,} records read; {len(rows):,} rows kept ({unique:,} distinct SHA-256);
dropped:{drops or " none"}

The upstream licence applies to this extract and is reproduced verbatim:

```
{licence.strip()}
```
"""


def build(data: Path, out: Path) -> Path:
    """Write the extract and its attribution into ``out``; return the extract's path."""
    source = data / SOURCE_NAME
    if not source.exists():
        raise SystemExit(f"missing xcyclopedia CSV: {source}")
    rows, dropped, total = read_rows(source)
    commit_file = data / "COMMIT_csv.txt"
    commit = commit_file.read_text(encoding="utf-8").strip() if commit_file.exists() else "unknown"
    licence = (data / "LICENSE").read_text(encoding="utf-8")
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    out.mkdir(parents=True, exist_ok=True)
    target = out / OUT_NAME
    target.write_bytes(encode(rows))
    text = attribution(commit, sha256, total, rows, dropped, licence)
    (out / "ATTRIBUTION.md").write_text(text, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="xcyclopedia folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package data folder")
    args = parser.parse_args(argv)
    path = build(args.data, args.out)
    print(f"known-good set: {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
