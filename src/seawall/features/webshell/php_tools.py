"""PHP attack tools that turn a web server against other hosts or other users, for
:mod:`seawall.features.webshell`.

Shell collections are full of pages that run no command at all: port scanners and packet
flooders (a socket opened to a request-chosen host, over and over), brute forcers (an FTP, SSH,
database or mail login tried for each line of a request-supplied list, or for each user of
``/etc/passwd``), and "config grabbers" that read other hosting users' configuration files
through the server's user list. Each is scored once, with a reason that names the behaviour.
Pure, bounded functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import call_args, propagate
from seawall.features.webshell.flow import _SRC_RE, _names_re, _Scorer

__all__ = ["php_tools"]

_R = re.compile

# ``\bname(`` written ``name(?<!...name)\s*\(``: literal first, so the engine skips ahead to it.
_SOCKET_RE = _R(
    r"fsockopen\s*\(|pfsockopen\s*\(|socket_connect\s*\(|stream_socket_client\s*\("
    r"|socket_sendto\s*\("
)
_LOGIN_RE = _R(
    r"ftp_login\s*\(|ssh2_auth_password\s*\(|mysqli?_(?:real_)?connect\s*\(|mysql_pconnect\s*\("
    r"|imap_open\s*\(|ldap_bind\s*\(|pg_connect\s*\(|mssql_connect\s*\(|new\s+pdo\s*\("
)
_LOOP_RE = _R(r"for(?<![\w$]for)(?:each)?\s*\(|while(?<![\w$]while)\s*\(")
_LINES_RE = _R(
    r"(?:explode|split|preg_split)\s*\(\s*['\"](?:\\r)?\\n['\"]|file(?<![\w$>:]file)\s*\("
)
_USERS_RE = _R(r"/etc/passwd|/etc/named\.conf|/var/named|/etc/valiases|/etc/userdomains")
_READ_RE = _R(
    r"file_get_contents\s*\(|readfile\s*\(|fopen\s*\(|highlight_file\s*\(|show_source\s*\("
    r"|copy\s*\(|file(?<![\w$>:]file)\s*\("
)
_OTHER_HOME_RE = _R(r"/home\d?/[\"'.{$]|/home\d?/\$|/var/www/vhosts/\$|public_html")
_WINDOW = 1200


def _in_loop(text: str, pos: int) -> re.Match[str] | None:
    """The closest loop header before ``pos`` (within a short window)."""
    last = None
    for m in _LOOP_RE.finditer(text, max(0, pos - _WINDOW), pos):
        last = m
    return last


def _scanners(text: str, sc: _Scorer, known: re.Pattern[str] | None) -> None:
    """A socket opened to a request-chosen host or port, in a loop: a scanner or a flooder."""
    for n, m in enumerate(_SOCKET_RE.finditer(text)):
        if n > 100:
            return
        args = call_args(text, m.end() - 1)
        if not (_SRC_RE.search(args) or (known is not None and known.search(args))):
            continue
        if "udp://" in args or "sock_dgram" in text[max(0, m.start() - _WINDOW) : m.start()]:
            sc.add(
                "udp_flood",
                55,
                "request data → UDP packets to a request-chosen host (a flooder)",
            )
            return
        if _in_loop(text, m.start()):
            sc.add(
                "port_scanner",
                50,
                "request data → connections to request-chosen hosts or ports, in a loop (a port"
                " scanner)",
            )
            return


def _brute_forcer(text: str, sc: _Scorer, known: re.Pattern[str] | None) -> None:
    """A login tried in a loop over a request-supplied list or the server's user list."""
    users = bool(_USERS_RE.search(text))
    for n, m in enumerate(_LOGIN_RE.finditer(text)):
        if n > 100:
            return
        loop = _in_loop(text, m.start())
        if loop is None:
            continue
        header = call_args(text, loop.end() - 1)
        body = text[loop.start() : m.start()]
        listed = users or (
            _LINES_RE.search(text) is not None
            and (
                _SRC_RE.search(header) is not None
                or (known is not None and known.search(header) is not None)
            )
        )
        args = call_args(text, m.end() - 1)
        varied = known is not None and known.search(args) is not None
        if listed and (varied or "$" in args) and "$" in body:
            sc.add(
                "brute_forcer",
                55,
                "tries logins (FTP/SSH/database/mail) for each entry of a request-supplied list or"
                " of the server's user list (a brute forcer)",
            )
            return


def _config_grabber(text: str, sc: _Scorer) -> None:
    """Reads files under other users' home folders, named from the server's user list."""
    if not _USERS_RE.search(text):
        return
    for n, m in enumerate(_READ_RE.finditer(text)):
        if n > 200:
            return
        if _OTHER_HOME_RE.search(call_args(text, m.end() - 1)):
            sc.add(
                "config_grabber",
                55,
                "reads files in other users' home folders, named from the server's user list"
                " (/etc/passwd): steals their configuration",
            )
            return


def php_tools(text: str, sc: _Scorer) -> None:
    """Every check of this module over ``text`` (lower-cased, comments removed)."""
    sockets = "sock" in text and _SOCKET_RE.search(text) is not None
    logins = _LOGIN_RE.search(text) is not None
    known = None
    if (sockets or logins) and _SRC_RE.search(text):
        known = _names_re(propagate(text, _SRC_RE))
    if sockets:
        _scanners(text, sc, known)
    if logins:
        _brute_forcer(text, sc, known)
    if "/etc/" in text or "/var/named" in text:
        _config_grabber(text, sc)
