"""Compressed evidence is read as the streams it holds, told by content, corruption a warning."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

from seawall.collect.archives import streams
from seawall.collect.base import Mediator

LINES = b"".join(b"line %d\n" % i for i in range(5000))


def _read(path: Path) -> tuple[list[tuple[str, bytes]], Mediator]:
    mediator = Mediator()
    found = [(s.label, s.handle.read()) for s in streams(path, str(path), mediator)]
    return found, mediator


def test_plain_and_gzip_are_one_stream_whatever_the_name(tmp_path: Path) -> None:
    plain = tmp_path / "dns.log.gz"  # a misleading name: the content decides
    plain.write_bytes(LINES)
    packed = tmp_path / "dns.txt"
    packed.write_bytes(gzip.compress(LINES))
    assert _read(plain)[0] == [(str(plain), LINES)]
    assert _read(packed)[0] == [(str(packed), LINES)]


def test_zip_and_tar_members_in_order_nested_archives_not_opened(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as nested:
        nested.writestr("bomb.txt", b"0" * 1000)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("a/first.json", b'{"a": 1}\n')
        out.writestr("b/", b"")
        out.writestr("inner.zip", inner.getvalue())
    found, mediator = _read(archive)
    assert [label for label, _ in found] == [f"{archive}!a/first.json", f"{archive}!inner.zip"]
    assert found[1][1] == inner.getvalue() and mediator.count == 0
    tarball = tmp_path / "kape.tar.gz"
    with tarfile.open(tarball, "w:gz") as out:
        for name, data in (("x.json", b"x\n"), ("y/z.json", LINES)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    found, mediator = _read(tarball)
    assert found == [(f"{tarball}!x.json", b"x\n"), (f"{tarball}!y/z.json", LINES)]


def test_truncated_gzip_keeps_what_it_has_and_warns(tmp_path: Path) -> None:
    packed = gzip.compress(LINES)
    broken = tmp_path / "cut.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    found, mediator = _read(broken)
    ((label, data),) = found
    assert label == str(broken) and 0 < len(data) < len(LINES) and LINES.startswith(data)
    assert mediator.count == 1 and "ends early or is corrupt" in mediator.kept[0].message
