"""Content features at collect time: file type by content, PE version info, imphash and the four
Authenticode statuses, on the real signed PuTTY and 7-Zip binaries and on PE files built, signed
and tampered here with mingw-w64, openssl and osslsigncode."""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
from pathlib import Path

import magic
import pytest

from seawall.case.store import CaseStore
from seawall.collect.content import examine_file
from seawall.collect.files import CollectOptions, collect_files
from seawall.features.filetype import identify, is_pe, label_of
from seawall.features.pe import PeInfo, inspect_pe
from tests.conftest import shared
from tests.pe_files import flip_in_first_section

PUTTY = "pe/putty-0.83/putty.exe"
SEVEN_ZIP = "pe/7z1900-x64_signed.exe"
HELLO_C = '#include <stdio.h>\nint main(void) { puts("seawall test"); return 0; }\n'


def _tool(name: str) -> str:
    """Path of a build tool; skip without it, except under CI where its absence is a failure."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian: see the test's docstring)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def _inspect(path: Path) -> PeInfo:
    _digests, features = examine_file(os.fsencode(path))
    assert features.pe is not None, f"{path} was not recognised as a PE file"
    return features.pe


@pytest.fixture(scope="module")
def unsigned_pe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small console PE built with Debian's gcc-mingw-w64-x86-64."""
    gcc = _tool("x86_64-w64-mingw32-gcc")
    work = tmp_path_factory.mktemp("mingw")
    (work / "hello.c").write_text(HELLO_C)
    _run(gcc, "-O2", "-o", str(work / "hello.exe"), str(work / "hello.c"))
    return work / "hello.exe"


@pytest.fixture(scope="module")
def test_ca_signed_pe(unsigned_pe: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``unsigned_pe`` signed by osslsigncode with a code-signing certificate from a test CA."""
    openssl, osslsigncode = _tool("openssl"), _tool("osslsigncode")
    work = tmp_path_factory.mktemp("ca")
    ca_key, ca_crt = work / "ca.key", work / "ca.crt"
    key, csr, crt = work / "signer.key", work / "signer.csr", work / "signer.crt"
    ext = work / "signer.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n"
    )
    _run(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
         "-out", str(ca_crt), "-days", "30", "-subj", "/CN=seawall test CA")  # fmt: skip
    _run(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
         "-subj", "/O=seawall tests/CN=seawall test signer")  # fmt: skip
    _run(openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(crt), "-days", "30", "-extfile", str(ext))  # fmt: skip
    chain = work / "chain.pem"
    chain.write_bytes(crt.read_bytes() + ca_crt.read_bytes())
    signed = work / "hello-signed.exe"
    _run(osslsigncode, "sign", "-certs", str(chain), "-key", str(key), "-h", "sha256",
         "-n", "seawall test", "-in", str(unsigned_pe), "-out", str(signed))  # fmt: skip
    return signed


def test_labels_are_short_and_stable() -> None:
    assert label_of("PE32+ executable (GUI) x86-64, for MS Windows, 7 sections") == "pe32+"
    assert label_of("PE32 executable (console) Intel 80386, for MS Windows") == "pe32"
    assert label_of("ELF 64-bit LSB pie executable, x86-64") == "elf"
    assert label_of("PHP script, ASCII text") == "php"
    assert label_of("Python script, ASCII text executable") == "script"
    assert label_of("Zip archive data, at least v2.0 to extract") == "zip"
    assert label_of("something libmagic made up") == "data"
    assert identify(b"<?php @eval($_POST['z']);?>\n").label == "php"
    assert identify(b"<html><body>hello</body></html>\n").label == "html"
    assert identify(b"#!/bin/sh\necho hi\n").label == "script"
    assert identify(b"PK\x03\x04" + bytes(100)).label in {"zip", "data"}
    assert identify(b"").label == "empty"
    assert identify(b"plain words\n").label == "text"


def test_signatures_agree_with_libmagic_on_common_system_files(tmp_path: Path) -> None:
    """The formats typed by signature (to spare libmagic) get the label libmagic's would give."""
    source = tmp_path / "module.py"
    source.write_text("VALUE = 1\n")
    compiled = tmp_path / "module.pyc"
    py_compile.compile(str(source), cfile=str(compiled), doraise=True)
    heads = {
        "pyc": compiled.read_bytes(),
        "ar": b"!<arch>\n" + b"debian-binary   1342943816  0     0     100644  4         `\n2.0\n",
        "bitcode": b"BC\xc0\xde" + bytes(range(256)) * 4,
    }
    cookie = magic.Magic()
    for kind, head in heads.items():
        assert identify(head).description.endswith("(by signature)"), kind
        assert identify(head).label == label_of(cookie.from_buffer(head)) == "data", kind
    assert not is_pe(b"MZ" + bytes(100))  # an MZ stub without a PE header is not a PE


def test_real_putty_is_signed_trusted_with_its_version_info() -> None:
    info = _inspect(shared(PUTTY))
    assert info.signature_status == "signed-trusted"
    assert info.original_name == "PuTTY"
    assert info.company == "Simon Tatham"
    assert info.product == "PuTTY suite"
    assert info.signer is not None and "CN=Simon Tatham" in info.signer
    assert info.imphash is not None and len(info.imphash) == 32
    assert info.warnings == ()


def test_byte_flipped_putty_is_invalid(tmp_path: Path) -> None:
    flipped = tmp_path / "putty.exe"
    flip_in_first_section(shared(PUTTY), flipped)
    info = _inspect(flipped)
    assert info.signature_status == "invalid"
    assert info.company == "Simon Tatham"  # still parsed: only the signature is broken


def test_self_signed_7zip_is_signed_untrusted() -> None:
    info = _inspect(shared(SEVEN_ZIP))
    assert info.signature_status == "signed-untrusted"
    assert info.company == "Igor Pavlov"
    assert info.signer is not None and "CN=ollypwn" in info.signer


def test_mingw_pe_is_unsigned(unsigned_pe: Path) -> None:
    _digests, features = examine_file(os.fsencode(unsigned_pe))
    assert features.file_type.label == "pe32+"
    assert features.pe is not None
    assert features.pe.signature_status == "unsigned"
    assert features.pe.signer is None
    assert features.pe.imphash is not None  # it imports from msvcrt/kernel32


def test_pe_signed_by_a_test_ca_is_untrusted_and_invalid_once_tampered(
    test_ca_signed_pe: Path, tmp_path: Path
) -> None:
    info = _inspect(test_ca_signed_pe)
    assert info.signature_status == "signed-untrusted"
    assert info.signer is not None and "CN=seawall test signer" in info.signer
    tampered = tmp_path / "tampered.exe"
    flip_in_first_section(test_ca_signed_pe, tampered)
    assert _inspect(tampered).signature_status == "invalid"


def test_garbage_after_a_pe_header_is_a_warning_not_a_crash() -> None:
    header = bytearray(0x200)
    header[:2] = b"MZ"
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    header[0x80:0x84] = b"PE\0\0"
    assert is_pe(bytes(header))
    info = inspect_pe(bytes(header) + b"\xff" * 64)
    assert info.signature_status is None
    assert info.warnings


def test_sweep_fills_the_content_columns_and_reuses_them(tmp_path: Path, case_dir: Path) -> None:
    tree = tmp_path / "c" / "Program Files" / "PuTTY"
    tree.mkdir(parents=True)
    shutil.copyfile(shared(PUTTY), tree / "putty.exe")
    (tree / "README.txt").write_text("PuTTY is a free SSH client.\n")
    options = CollectOptions(host="evidence")
    with CaseStore.open(case_dir) as store:
        first = collect_files(store, [str(tmp_path / "c")], options)
        second = collect_files(store, [str(tmp_path / "c")], options)
        rows = store.con.execute(
            "SELECT name, file_type, pe_original_name, pe_company, pe_product, pe_description,"
            " imphash, signature_status, signer FROM files ORDER BY name"
        ).fetchall()
    assert (first.hashed, second.hashed, second.reused) == (2, 0, 2)
    readme, putty = rows
    assert readme[0] == "README.txt" and readme[1] == "text"
    assert readme[2:] == (None,) * 7
    name, file_type, original, company, product, description, imphash, status, signer = putty
    assert name == "putty.exe" and file_type is not None and file_type.startswith("pe32")
    assert (original, company, product) == ("PuTTY", "Simon Tatham", "PuTTY suite")
    assert description is not None and imphash is not None
    assert status == "signed-trusted" and "Simon Tatham" in signer
