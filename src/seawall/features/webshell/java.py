"""JSP/JSPX behaviour rules, for :mod:`seawall.features.webshell`.

Java web shells rarely look like ``eval($_POST[x])``: they hand request data to
``Runtime.exec`` or a ``ProcessBuilder`` (sometimes through JDK internals such as
``java.lang.ProcessImpl``), load classes from bytes (``defineClass``, BCEL strings,
``TemplatesImpl``, ``URLClassLoader``, bytecode written with ASM), evaluate script or expression
languages (``ScriptEngine.eval``, EL, SpEL, OGNL), look up request-chosen JNDI names, open JDBC
connections from request-supplied URLs and passwords (the China Chopper JSP server), write
request data to request-chosen files, or tunnel sockets. Each rule names that behaviour in its
reason. Pure functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import (
    Rule,
    apply_rules,
    call_args,
    file_writes,
    propagate,
)
from seawall.features.webshell.flow import _names_re, _Scorer

__all__ = ["SOURCE_RE", "java_rules"]

#: Request data in a servlet or JSP page (any receiver of ``getParameter``: ``req``, a cast...).
SOURCE_RE = re.compile(
    r"\.\s*getparameter(?:values|map|names)?\s*\("
    r"|(?:request|req|getrequest\s*\(\s*\))\s*\.\s*"
    r"(?:getheader|getinputstream|getreader|getquerystring|getcookies|getpart)\w*\s*\("
    r"|\$\{\s*param\s*[.\[]|parserequest\s*\(|getparts\s*\(\s*\)"
)

_R = re.compile

_COMMAND_RULES = (
    Rule(
        "java_runtime_exec",
        _R(r"getruntime\s*\(\s*\)\s*\.\s*exec\s*\("),
        "Runtime.exec (OS command)",
        70,
        35,
        15,
    ),
    Rule(
        "java_process_builder",
        _R(r"new\s+(?:java\.lang\.)?processbuilder\b"),
        "ProcessBuilder (OS command)",
        70,
        35,
        15,
        whole_statement=True,
    ),
    Rule(
        "java_internal_process",
        _R(r"java\.lang\.(?:processimpl|unixprocess)\b|forkandexec\b"),
        "JDK-internal process creation (ProcessImpl/UNIXProcess, bypassing Runtime.exec)",
        70,
        55,
        45,
        whole_statement=True,
    ),
)
_LOADER_RULES = (
    Rule(
        "java_deserialize",
        _R(r"new\s+(?:java\.io\.)?objectinputstream\s*\(|new\s+(?:java\.beans\.)?xmldecoder\s*\("),
        "Java deserialization of request data (readObject/XMLDecoder: runs gadget chains)",
        70,
    ),
    Rule(
        "java_compiler",
        _R(r"getsystemjavacompiler\s*\(|jshell\s*\.\s*create\s*\("),
        "compiles and runs Java source at run time (JavaCompiler/JShell)",
        70,
        45,
        35,
        whole_statement=True,
    ),
    Rule(
        "java_xslt",
        _R(r"\.\s*newtransformer\s*\(|\.\s*newtemplates\s*\("),
        "XSLT stylesheet from the request (Java extension functions run code)",
        60,
    ),
    Rule(
        "java_agent",
        _R(r"virtualmachine\s*\.\s*attach\s*\(|\.\s*loadagent\w*\s*\("),
        "attaches a Java agent to the running JVM (code injected into the server)",
        70,
        55,
        55,
    ),
    Rule(
        "java_memory_shell",
        _R(
            r"\.\s*add(?:filter(?:def|map\w*)?|servlet(?:mapping\w*)?|valve"
            r"|applicationeventlistener|servletmappingdecoded|endpoint)\s*\("
            r"|\.\s*(?:registermapping|registerhandler|detecthandlermethods)\s*\("
        ),
        "registers a filter, servlet, listener, valve, endpoint or controller mapping at run"
        " time (a memory-resident shell)",
        70,
        45,
        40,
        whole_statement=True,
    ),
    Rule(
        "java_define_class",
        _R(r"defineclass\s*\("),
        "defineClass (class loader: runs bytecode)",
        70,
        50,
        45,
    ),
    Rule(
        "java_bcel",
        _R(r"\$\$bcel\$\$|com\.sun\.org\.apache\.bcel\.internal"),
        "BCEL-encoded class handed to the JDK's BCEL class loader",
        70,
        55,
        55,
        whole_statement=True,
    ),
    Rule(
        "java_templates_impl",
        _R(r"templatesimpl\b|_bytecodes\b"),
        "TemplatesImpl (bytecode loaded through XSLT internals)",
        70,
        55,
        50,
        whole_statement=True,
    ),
    Rule(
        "java_unsafe_class",
        _R(r"defineanonymousclass\s*\(|sun\.misc\.unsafe|jdk\.internal\.misc\.unsafe"),
        "Unsafe class definition (loads bytecode past the class loader)",
        70,
        50,
        45,
    ),
    Rule(
        "java_url_class_loader",
        _R(r"urlclassloader\b|versionhelper\b[^;]{0,200}loadclass|\.loadclass\s*\(|\bmlet\b"),
        "URLClassLoader/loadClass (class loaded from a path or URL)",
        70,
        30,
        10,
        whole_statement=True,
    ),
)
_EVAL_RULES = (
    Rule(
        "java_script_engine",
        _R(r"getengineby(?:name|extension|mimetype)\s*\("),
        "ScriptEngine.eval (runs script code)",
        70,
        40,
        20,
        whole_statement=True,
    ),
    Rule(
        "java_expression",
        _R(
            r"new\s+(?:javax\.el\.)?elprocessor\b|createvalueexpression\s*\(|createmethodexpression\s*\("
            r"|spelexpressionparser\b|ognl\s*\.\s*(?:getvalue|parseexpression)\s*\("
            r"|groovyshell\b|new\s+(?:javax\.script\.)?scriptenginemanager\b"
            r"|bsh\s*\.\s*interpreter\b|pythoninterpreter\b|mvel\s*\.\s*(?:eval|compileexpression)"
            r"|jexlbuilder\b|createjexlengine\b|new\s+(?:org\.mozilla\.javascript\.)?contextfactory\b"
        ),
        "expression or script language evaluation (EL/SpEL/OGNL/Groovy/BeanShell/Jython/MVEL/JEXL)",
        70,
        30,
        10,
        whole_statement=True,
    ),
    Rule(
        "java_el_command",
        _R(
            r"[$#]\{[^}\n]{0,300}(?:getruntime|processbuilder|\.exec\s*\(|forname|scriptenginemanager)[^}\n]{0,300}\}"
        ),
        "EL expression that reaches Runtime/ProcessBuilder/reflection (expression-language shell)",
        70,
        60,
        45,
        in_match=True,
    ),
    Rule(
        "java_reflect_runtime",
        _R(r"[\"']java\.lang\.(?:runtime|processbuilder|processimpl)[\"']"),
        "Runtime/ProcessBuilder reached by name through reflection (hides the command call)",
        70,
        50,
        35,
        whole_statement=True,
    ),
    Rule(
        "java_reflect_by_name",
        _R(
            r"get(?:declared)?method\s*\(\s*\"(?:exec|defineclass\d?|forkandexec|getruntime"
            r"|defineanonymousclass)\""
            r"|find(?:virtual|static|special)\s*\([^;]{0,200}\"(?:exec|defineclass\d?|getruntime)\""
            r"|new\s+(?:java\.beans\.)?(?:expression|statement)\s*\([^;]{0,200}"
            r"\"(?:exec|getruntime|defineclass|forname|loadclass|start)\""
        ),
        "exec/defineClass called by name through reflection or method handles (hides the call)",
        70,
        50,
        40,
        whole_statement=True,
    ),
    Rule("java_jndi", _R(r"\.\s*lookup\s*\("), "JNDI lookup of a request-chosen name", 60),
    Rule(
        "java_include",
        _R(r"getrequestdispatcher\s*\(|pagecontext\s*\.\s*(?:include|forward)\s*\("),
        "includes or forwards to a request-chosen page (runs another file as a page)",
        55,
    ),
    Rule(
        "java_include",
        _R(r"<jsp:(?:include|forward)\b[^>]{0,200}page\s*=[^>]{0,200}>"),
        "includes or forwards to a request-chosen page (runs another file as a page)",
        55,
        in_match=True,
    ),
    Rule(
        "java_reflection",
        _R(r"class\s*\.\s*forname\s*\(|\.\s*invoke\s*\("),
        "reflection on a request-chosen class or method",
        55,
    ),
    Rule(
        "java_jdbc",
        _R(r"drivermanager\s*\.\s*getconnection\s*\("),
        "JDBC connection to a request-supplied database (URL, user or password)",
        55,
    ),
    Rule(
        "java_url_fetch",
        _R(r"new\s+(?:java\.net\.)?url\s*\("),
        "server-side request to a request-chosen URL (proxy or intranet scanner)",
        40,
    ),
    Rule(
        "java_socket",
        _R(
            r"new\s+(?:java\.net\.)?socket\s*\(|socketchannel\s*\.\s*open\s*\(|new\s+inetsocketaddress\s*\("
        ),
        "socket to a request-chosen host (network tunnel)",
        55,
    ),
)
# ``.eval(``/``.getValue(`` calls are sinks once an engine or EL processor is in the page.
_EVAL_CALL_RE = _R(r"\.\s*(?:eval|getvalue|evaluate|parseexpression)\s*\(")
_ENGINE_WORDS = (
    "scriptengine",
    "elprocessor",
    "expressionfactory",
    "spelexpression",
    "ognl",
    "groovy",
)
# Runtime held in a variable: ``Runtime r = Runtime.getRuntime(); r.exec(cmd)``.
_EXEC_CALL_RE = _R(r"\w\s*\.\s*exec\s*\(")
# File writes: the opening call (its arguments hold the path) and the stream it is assigned to.
_FILE_OPEN_RE = _R(
    r"new\s+(?:java\.io\.)?(?:fileoutputstream|filewriter|randomaccessfile|printstream|printwriter"
    r"|java\.util\.logging\.filehandler|filehandler)\s*\("
    r"|files\s*\.\s*(?:write|writestring|copy|newoutputstream|newbufferedwriter)\s*\("
    r"|fileutils\s*\.\s*(?:write\w*|copyinputstreamtofile)\s*\(|\.\s*transferto\s*\("
    r"|\.\s*write\s*\(\s*new\s+(?:java\.io\.)?file\s*\("
)
# A shell program started by name, and a socket: wired together, a reverse or bind shell.
_SHELL_PROGRAM_RE = _R(r"[\"'](?:cmd(?:\.exe)?|/bin/(?:ba)?sh|sh|bash|powershell(?:\.exe)?)[\"']")
_SOCKET_RE = _R(r"new\s+(?:java\.net\.)?(?:server)?socket\s*\(|socketchannel\s*\.\s*open\s*\(")
_PROCESS_RE = _R(r"getruntime\s*\(\s*\)\s*\.\s*exec\s*\(|new\s+(?:java\.lang\.)?processbuilder\b")
# Request data decrypted with a key written in the page: an encrypted command channel.
_CIPHER_RE = _R(r"cipher\s*\.\s*getinstance\s*\(")
_KEY_RE = _R(r"new\s+(?:javax\.crypto\.spec\.)?secretkeyspec\s*\(")
_THREADS_RE = _R(r"new\s+thread\s*\(|executorservice|newfixedthreadpool|linkedblockingqueue")
_ASM_RE = _R(r"classwriter\b[^;]{0,200}|visitmethodinsn\s*\(")
_ASM_EXEC_RE = _R(r"java/lang/(?:runtime|processbuilder)")
_FILE_OPS = (
    ("listroots", _R(r"listroots\s*\(")),
    ("listfiles", _R(r"listfiles\s*\(")),
    ("delete", _R(r"\.\s*delete\s*\(\s*\)")),
    ("renameto", _R(r"renameto\s*\(")),
    ("mkdir", _R(r"\.\s*mkdirs?\s*\(")),
    ("setlastmodified", _R(r"setlastmodified\s*\(")),
    ("fileoutputstream", _R(r"new\s+fileoutputstream\s*\(")),
    ("fileinputstream", _R(r"new\s+fileinputstream\s*\(")),
    ("createnewfile", _R(r"createnewfile\s*\(")),
)
_COMPUTED_JDBC_RE = _R(r"class\s*\.\s*forname\s*\(\s*[a-z_][^\"'()]{0,80}\)")
_COMPUTED_CONN_RE = _R(r"drivermanager\s*\.\s*getconnection\s*\(\s*[a-z_][^\"']{0,80}\)")


_UNICODE_ESCAPE_RE = _R(r"\\u+([0-9a-f]{4})")
_INLINE_COMMENT_RE = _R(r"(?<=[\w.)\]])\s*/\*.{0,200}?\*/\s*(?=[\w.(\[])", re.S)
# A static include compiles the included file into the page: a data file included so runs as
# code that no scanner of scripts reads.
_DATA_INCLUDE_RE = _R(
    r"<%@\s*include\s+file\s*=\s*[\"'][^\"'\n]{1,200}\.(?:txt|jpg|jpeg|gif|png|ico|bmp|log|dat)[\"']"
    r"|<jsp:directive\.include\s+file\s*=\s*[\"'][^\"'\n]{1,200}"
    r"\.(?:txt|jpg|jpeg|gif|png|ico|bmp|log|dat)[\"']"
)


def java_rules(text: str, sc: _Scorer) -> None:
    """All JSP/JSPX behaviour rules over ``text`` (lower-cased; JSPX already unescaped)."""
    if "\\u" in text:
        # Java compiles \uXXXX escapes anywhere in the source: names spelt with them hide.
        escapes = len(_UNICODE_ESCAPE_RE.findall(text))
        if escapes:
            text = _UNICODE_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)).lower(), text)
        if escapes >= 20:
            sc.add(
                "java_unicode_escapes",
                35,
                f"Java code spelt with {escapes} \\u escapes (hides names from a reader)",
                escapes,
            )
    if "/*" in text:
        # A comment between two tokens is white space to the compiler: ``Runtime/**/.exec``.
        text = _INLINE_COMMENT_RE.sub(" ", text)
    reads = bool(SOURCE_RE.search(text))
    tainted = propagate(text, SOURCE_RE, semicolons=True) if reads else frozenset()
    command = list(_COMMAND_RULES)
    if "getruntime" in text:
        command.append(
            Rule("java_runtime_exec", _EXEC_CALL_RE, "Runtime.exec (OS command)", 70, 35, 15)
        )
    apply_rules(text, sc, command, SOURCE_RE, tainted, reads_request=reads)
    apply_rules(text, sc, _LOADER_RULES, SOURCE_RE, tainted, reads_request=reads)
    evals = list(_EVAL_RULES)
    engines = [w for w in _ENGINE_WORDS if w in text]
    if engines:
        label = (
            "ScriptEngine.eval (runs script code)"
            if "scriptengine" in engines
            else ("expression language evaluation (EL/SpEL/OGNL/Groovy)")
        )
        evals.insert(0, Rule("java_eval_call", _EVAL_CALL_RE, label, 70))
    apply_rules(text, sc, evals, SOURCE_RE, tainted, reads_request=reads)
    if ("java_url_fetch" in sc.features or "java_socket" in sc.features) and _THREADS_RE.search(
        text
    ):
        sc.add(
            "java_scanner",
            15,
            "opens those connections from many threads at once (a network scanner)",
        )
    if ("classwriter" in text or "visitmethodinsn" in text) and _ASM_RE.search(text):
        if _ASM_EXEC_RE.search(text):
            sc.add(
                "java_asm_exec",
                60,
                "builds a class at run time (ASM) whose code calls Runtime/ProcessBuilder",
            )
        else:
            sc.add("java_asm", 30, "builds JVM bytecode at run time (ASM ClassWriter)")
    if reads:
        file_writes(text, sc, _FILE_OPEN_RE, SOURCE_RE, tainted)
    _file_manager(text, sc, reads)
    _wired_shell(text, sc)
    _embedded_code(text, sc)
    if "include" in text and (m := _DATA_INCLUDE_RE.search(text)):
        target = re.split(r"[\"']", m.group(0))[-2]
        sc.add(
            "includes_data_file",
            50,
            f"compiles a data file into the page as code (includes '{target[-40:]}': the code"
            " hides outside the script)",
        )
    if reads and "cipher" in text and _CIPHER_RE.search(text) and _KEY_RE.search(text):
        _decrypted_request(text, sc, tainted)
    if (
        reads
        and "java_jdbc" not in sc.features
        and _COMPUTED_JDBC_RE.search(text)
        and _COMPUTED_CONN_RE.search(text)
    ):
        sc.add(
            "java_jdbc_computed",
            40,
            "JDBC driver class and connection string computed at run time in a page reading"
            " request data (a database client taking its target from the request)",
        )


def _file_manager(text: str, sc: _Scorer, reads: bool) -> None:
    """Many different file operations in a page reading request data: a file manager."""
    if not reads:
        return
    ops = [name for name, rx in _FILE_OPS if rx.search(text)]
    if len(ops) >= 5:
        sc.add(
            "java_file_manager",
            30,
            f"file manager: {len(ops)} kinds of file operation ({', '.join(ops[:5])}) in a page"
            " reading request data",
            len(ops),
        )
    if "setlastmodified" in ops:
        sc.add(
            "java_timestomp", 15, "sets file modification times (timestomping) from a request page"
        )


def _wired_shell(text: str, sc: _Scorer) -> None:
    """A shell program started next to a socket: its input and output go to the network."""
    if "socket" not in text or not _SOCKET_RE.search(text):
        return
    for m in _PROCESS_RE.finditer(text):
        if _SHELL_PROGRAM_RE.search(text, m.start(), m.start() + 300):
            sc.add(
                "java_socket_shell",
                60,
                "starts a shell program (cmd/sh) in a page that opens a socket: a reverse or"
                " bind shell",
            )
            return


def _decrypted_request(text: str, sc: _Scorer, tainted: frozenset[str]) -> None:
    """``Cipher.doFinal`` of request data with a key spec in the page."""
    known = _names_re(tainted)
    for m in re.finditer(r"\.\s*dofinal\s*\(", text):
        args = call_args(text, m.end() - 1)
        if SOURCE_RE.search(args) or (known is not None and known.search(args)):
            sc.add(
                "java_decrypts_request",
                40,
                "request data decrypted with a key written in the page (an encrypted command"
                " channel)",
            )
            return


# A Java class file (magic CAFEBABE) or serialized object stream (magic ACED0005) written into the
# page: in base64 (``yv66vg``, ``rO0AB``), hex, or as a signed byte array.
_CLASS_BYTES_RE = _R(
    r"[\"']yv66vg|cafebabe0000|-54\s*,\s*-2\s*,\s*-70\s*,\s*-66|0xca\s*,\s*0xfe\s*,\s*0xba"
)
_SERIALIZED_RE = _R(r"[\"']ro0ab|[\"']aced0005|-84\s*,\s*-19\s*,\s*0\s*,\s*5\b|0xac\s*,\s*0xed")
_LOADS_RE = _R(
    r"defineclass|classloader|templatesimpl|_bytecodes|unsafe|newinstance|loadclass|lookup\s*\("
)
_DESERIALIZES_RE = _R(r"objectinputstream|readobject\s*\(|xmldecoder|readunshared")
# A JNDI name that is a remote URL written in the page, and XSLT calling Java classes.
_REMOTE_JNDI_RE = _R(r"\.\s*lookup\s*\(\s*[\"'](?:ldap|ldaps|rmi|iiop|corba|dns|nis)://")
_XALAN_JAVA_RE = _R(r"xalan/java|xalan://|xml\.apache\.org/xslt/java|saxon\.sf\.net/java-type")
_REMOTE_LOADER_RE = _R(r"urlclassloader\b|\bmlet\b")


def _embedded_code(text: str, sc: _Scorer) -> None:
    """Code the page carries inside itself: class bytes or a serialized object it loads, a
    remote JNDI name, XSLT that calls Java, a class loader pointed at a URL it names."""
    # Literal tests first: the regexes below start with many different characters, which the
    # engine would try at every position of every page.
    if any(w in text for w in ("yv66vg", "cafebabe", "-54", "0xca")) and (
        _CLASS_BYTES_RE.search(text) and _LOADS_RE.search(text)
    ):
        sc.add(
            "java_embedded_class",
            60,
            "a compiled Java class is embedded in the page and loaded (class bytes in base64/hex)",
        )
    if any(w in text for w in ("ro0ab", "aced0005", "-84", "0xac")) and (
        _SERIALIZED_RE.search(text) and _DESERIALIZES_RE.search(text)
    ):
        sc.add(
            "java_embedded_serialized",
            60,
            "a serialized Java object is embedded in the page and deserialized (a gadget chain"
            " that runs code)",
        )
    if "lookup" in text and _REMOTE_JNDI_RE.search(text):
        sc.add(
            "java_remote_jndi",
            55,
            "JNDI lookup of a remote ldap/rmi name written in the page (loads a class from"
            " another host)",
        )
    if (
        ("xalan" in text or "xslt" in text or "saxon" in text)
        and _XALAN_JAVA_RE.search(text)
        and re.search(r"newtransformer|newtemplates", text)
    ):
        sc.add(
            "java_xslt_extension",
            55,
            "XSLT stylesheet that calls Java classes through extension functions (runs code)",
        )
    if "urlclassloader" not in text and "mlet" not in text:
        return
    for m in _REMOTE_LOADER_RE.finditer(text):
        window = text[max(0, m.start() - 300) : m.end() + 300]
        if re.search(r"[\"'](?:https?|ftp)://", window):
            sc.add(
                "java_remote_class",
                55,
                "class loader pointed at a remote URL written in the page (loads code from"
                " another host)",
            )
            return
