"""Tests of the web-shell assessor on snippets we wrote, the tennc corpus and benign web roots.

The snippets below are hand-written China Chopper-style one-liners (never taken from a corpus):
they pin the behaviour every language must have. The corpus and benign-package tests measure the
issue-3 targets on real data; the corpus is only ever read as bytes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from seawall.detect.webshell import (
    THRESHOLD,
    WEB_EXTENSIONS,
    assess,
    is_web_root,
    read_head,
    web_files,
)
from tests.conftest import shared

CHOPPER = {
    "a.php": b'<?php @eval($_POST["z"]);?>',
    "b.asp": b'<%eval request("z")%>',
    "c.aspx": b'<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>',
    "d.jsp": (
        b'<%@ page import="java.io.*" %><% Process p = Runtime.getRuntime()'
        b'.exec(request.getParameter("c")); %>'
    ),
    "e.php": b"<?php $c = $_GET['c']; system($c); ?>",
    "f.php": b"<?php eval(gzinflate(base64_decode('80jNyclXCM8vyklRBAA=')));",
    "g.php": b"<?php $_GET['f']($_POST['x']); ?>",
}

BENIGN_PHP = b"""<?php
/** A contact page: reads the form and mails it. */
$name = isset($_POST['name']) ? htmlspecialchars($_POST['name']) : '';
$ids = array_map('intval', (array) $_REQUEST['ids']);
if ($name !== '') {
    mail('webmaster@example.org', 'Contact', "From: $name");
}
?><html><body><form method="post"><input name="name"></form></body></html>
"""

BENIGN_PACKAGES = ("wordpress", "tomcat10-examples")


def package_files(package: str) -> list[Path] | None:
    """Files a Debian package installed, or None when it is not installed."""
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if done.returncode:
        return None
    return [Path(line) for line in done.stdout.splitlines() if line.startswith("/")]


BENIGN_JSP = b"""<%@ page contentType="text/html; charset=UTF-8" import="java.util.*" %>
<html><body>
<% String who = request.getParameter("name");
   if (who == null) { who = "world"; } %>
<p>Hello, <%= org.apache.commons.text.StringEscapeUtils.escapeHtml4(who) %></p>
</body></html>
"""


@pytest.mark.parametrize("name", sorted(CHOPPER))
def test_hand_written_one_liners_are_web_shells(name: str) -> None:
    verdict = assess(CHOPPER[name], name)
    assert verdict.is_webshell, verdict
    assert verdict.score >= THRESHOLD
    assert verdict.reasons, "every score must be explained"


def test_reasons_say_why() -> None:
    verdict = assess(CHOPPER["a.php"], "a.php")
    assert verdict.language == "php"
    assert "request parameter passed to eval()" in verdict.reasons[0]
    assert verdict.features["request_to_sink"] == 1


@pytest.mark.parametrize(("data", "name"), [(BENIGN_PHP, "contact.php"), (BENIGN_JSP, "hi.jsp")])
def test_benign_pages_are_not_web_shells(data: bytes, name: str) -> None:
    verdict = assess(data, name)
    assert not verdict.is_webshell, verdict.reasons
    assert 0 <= verdict.score < THRESHOLD


def test_language_by_extension_and_content() -> None:
    assert assess(b"", "x.ASPX").language == "aspx"
    assert assess(b"", "x.jspx").language == "jspx"
    assert assess(b"#!/usr/bin/perl\nprint 1;", "noext").language == "perl"
    assert assess(b"<?php echo 1;", "noext").language == "php"
    assert assess(b"plain text", "readme").language is None
    assert {".php", ".php5", ".phtml", ".asp", ".aspx", ".ashx", ".jsp", ".cfm"} <= WEB_EXTENSIONS


def test_work_is_bounded_and_hostile_bytes_are_fine() -> None:
    big = b"<?php\n" + b"\xff\xfe" * (3 * 1024 * 1024)
    verdict = assess(big, "big.php")
    assert verdict.features["bytes_examined"] == 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (r"C:\inetpub\wwwroot\aspnet_client\x.aspx", True),
        ("c:/INETPUB/WWWROOT", True),
        (r"D:\Tomcat 9\webapps\ROOT\index.jsp", True),
        (r"C:\xampp\htdocs", True),
        ("/var/www/html/index.php", True),
        ("/srv/www", True),
        ("/usr/share/nginx/html", True),
        ("/usr/share/wordpress/wp-login.php", True),
        ("/var/lib/tomcat10/webapps/ROOT", True),
        ("/opt/tomcat/webapps/app/x.jsp", True),
        ("/mnt/img/var/www", True),
        ("/home/user/docs/www.txt", False),
        ("/var/WWW", False),
        (r"C:\Windows\System32", False),
        ("/usr/bin", False),
    ],
)
def test_is_web_root(path: str, expected: bool) -> None:
    assert is_web_root(path) is expected


def _flags(paths: Iterable[Path]) -> list[bool]:
    """Verdicts on both cores: the real sets are ~1,300 files and tests must stay fast."""
    items = [(read_head(p), p.name) for p in paths]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(_is_webshell, items, chunksize=8))


def _is_webshell(item: tuple[bytes, str]) -> bool:
    return assess(*item).is_webshell


# Floors: recall measured now (php 88.4 %, asp 78.4 %) minus 1 point; the targets are the issue's.
@pytest.mark.parametrize(
    ("folder", "floor"),
    [
        ("php", 0.87),
        ("asp", 0.77),
    ],
)
def test_corpus_recall_floor(folder: str, floor: float) -> None:
    files = list(web_files(sorted(shared(f"webshells/tennc-webshell/{folder}").rglob("*"))))
    assert len(files) > 40
    flags = _flags(files)
    recall = sum(flags) / len(flags)
    assert recall >= floor, f"{folder}/: recall {recall:.1%} over {len(flags)} files"
    if recall < 0.9:
        pytest.xfail(f"issue-3 target recall >= 90% not met yet on {folder}/: {recall:.1%}")


def test_benign_web_roots_false_positives() -> None:
    if not Path("/usr/share/wordpress").is_dir():
        reason = "benign web roots absent: apt-get install wordpress tomcat10-examples"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    files: list[Path] = []
    for package in BENIGN_PACKAGES:
        listed = package_files(package)
        assert listed is not None, f"apt-get install {package}"
        files.extend(web_files(listed))
    assert len(files) > 500
    flags = _flags(files)
    per_1000 = 1000 * sum(flags) / len(flags)
    assert per_1000 <= 1.0, f"{sum(flags)} false positives in {len(flags)} benign web files"
