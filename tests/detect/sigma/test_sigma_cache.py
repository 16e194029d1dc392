"""The compiled-rule cache: a rule file whose stamp is unchanged is not read again, and any
change to a file (even one of the same size with its modification time put back) is seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seawall.detect.sigma import rules as rules_module
from seawall.detect.sigma.rules import RuleCache, load_rules
from tests.detect.sigma.helpers import write_rule


def _rule(title: str) -> str:
    return (
        f"title: {title}\nid: 00000000-0000-0000-0000-0000000000c1\nstatus: test\nlevel: high\n"
        "logsource:\n    product: windows\n    category: process_creation\n"
        "detection:\n    selection:\n        Image|endswith: '\\cmd.exe'\n"
        "    condition: selection\n"
    )


def test_unchanged_files_are_not_read_and_changed_ones_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file changed within the racy window is never stamped; the test's files are all new
    monkeypatch.setattr(rules_module, "_RACY_NS", 0)
    folder, cache_dir = tmp_path / "rules", tmp_path / "cache"
    path = write_rule(folder, "a.yml", _rule("Title one"))
    (first,) = load_rules([folder], RuleCache(cache_dir))
    assert first.title == "Title one" and first.variants

    cache = RuleCache(cache_dir)
    digest, content = cache.digest(path)
    assert content is None  # known stamp: neither read nor hashed
    (again,) = load_rules([folder], cache)
    assert again.title == "Title one"
    assert again.variants == first.variants
    assert again.variants[0].facts == first.variants[0].facts

    # same size, modification time put back: the change time still tells
    status = path.stat()
    path.write_text(_rule("Title two"), encoding="utf-8")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size
    (changed,) = load_rules([folder], RuleCache(cache_dir))
    assert changed.title == "Title two"
    assert RuleCache(cache_dir).digest(path)[0] != digest
