"""Turn indicator values as sources write them into one canonical, comparable form.

Two sources only agree that they saw "the same indicator" when their values compare equal, so this
module decides, once, what equal means: ``EVIL.example.`` and ``evil[.]example`` are one domain,
``::0:1`` and ``::1`` one address. Everything here is pure and offline (no DNS, no network: looking
an indicator up can tip off the actor) and fast, because feeds carry millions of values: regexes are
compiled once and the common cases (plain ASCII names, dotted quads, hex hashes) avoid the slower
general parsers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable

from seawall.model.indicator import IndicatorType

# fmt: off
__all__ = ["PREFERRED_FILE_EXTENSIONS", "detect_type", "email_domain", "normalise", "refang",
           "url_host"]
# fmt: on

# --- refanging --------------------------------------------------------------------------------


def _maybe_defanged(value: str) -> bool:
    """Whether a value may be defanged; most are not and take the fast path (strip only).

    Plain substring tests: on short values they are several times faster than one regex search.
    """
    # fmt: off
    return ("[" in value or "(" in value or "{" in value or " " in value or "*" in value
            or "xp" in value or "XP" in value or "Xp" in value or "xP" in value)
    # fmt: on


_COMMON_DEFANGS = (("[.]", "."), ("(.)", "."), ("[:]", ":"), ("[://]", "://"), ("[@]", "@"))
_BRACKETED = re.compile(r"[\[({]\s*(?P<tok>\.|dot|:|://|@|at|/)\s*[\])}]", re.IGNORECASE)
_BRACKET_TOKENS = {".": ".", "dot": ".", ":": ":", "://": "://", "@": "@", "at": "@", "/": "/"}
# hxxp, hXXp, hxxps, h**p, fxp — only at a word start and only before ':' so "hxxpd" stays.
_SCHEME = re.compile(r"\b(?:h(?:xx|\*\*)p|hxp)(s?)(?=:)|\bfxp(s?)(?=:)", re.IGNORECASE)
# "evil dot com" / "bob at evil dot com": only when the *whole* value is words joined that way,
# so an e-mail subject such as "connect the dot now" is left alone.
_SPOKEN = re.compile(r"[\w-]+(?:\s+(?:dot|at)\s+[\w-]+)+", re.IGNORECASE)
_SPOKEN_SEP = re.compile(r"\s+(dot|at)\s+", re.IGNORECASE)
_SPOKEN_DOT = re.compile(r"\sdot\s", re.IGNORECASE)
_STRIP = " \t\r\n\"'`<>"


def refang(text: str) -> str:
    """Undo the usual defanging (``hxxp``, ``[.]``, ``(dot)``, ``[@]``…) and strip wrappers.

    Advisories defang values so that nobody clicks them; matching needs the live form. Only
    unambiguous defang markers are rewritten: the spoken forms (``evil dot com``) only when the
    whole value is dot/at-joined words, so free text is never mangled.
    """
    value = text.strip(_STRIP)
    if not _maybe_defanged(value):
        return value
    for defanged, live in _COMMON_DEFANGS:
        value = value.replace(defanged, live)
    if "[" in value or "(" in value or "{" in value:
        value = _BRACKETED.sub(lambda m: _BRACKET_TOKENS[m.group("tok").lower()], value)
    lowered = value.lower()
    if "xp" in lowered or "**p" in lowered:
        value = _SCHEME.sub(_scheme_repl, value)
    if " " in value and _SPOKEN.fullmatch(value) and _SPOKEN_DOT.search(value):
        value = _SPOKEN_SEP.sub(lambda m: "." if m.group(1).lower() == "dot" else "@", value)
    return value.strip(_STRIP)


def _scheme_repl(match: re.Match[str]) -> str:
    if match.group(2) is not None:  # the fxp branch matched
        return "ftp" + match.group(2).lower()
    return "http" + match.group(1).lower()


# --- detection --------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_T = IndicatorType
_HASH_BY_LENGTH = {32: _T.MD5, 40: _T.SHA1, 64: _T.SHA256, 128: _T.SHA512}
_SSDEEP = re.compile(r"\d+:[A-Za-z0-9/+]+:[A-Za-z0-9/+]+")
_CVE = re.compile(r"CVE-(\d{4})-(\d{4,})", re.IGNORECASE)
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# RFC 3986 appendix B, for URLs that have an authority; one match replaces urlsplit/urlunsplit.
_URL_PARTS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
    r"(?P<query>\?[^#]*)?(?:#.*)?",
    re.DOTALL,
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")
_WINDOWS_PATH = re.compile(r"(?:[A-Za-z]:[\\/]|%[A-Za-z0-9_()]+%[\\/]?|\\\\[^\\/\s]+[\\/])")
_POSIX_PATH = re.compile(r"/(?:[^/\x00]+/)*[^/\x00]+")
# Hive spellings (short, long, and the kernel names Sysmon and some EDRs write) → long name.
# fmt: off
_REGISTRY_HIVES = {
    spelling: hive
    for hive, spellings in (
        ("HKEY_LOCAL_MACHINE", ("HKLM", "\\REGISTRY\\MACHINE")), ("HKEY_CURRENT_USER", ("HKCU",)),
        ("HKEY_CLASSES_ROOT", ("HKCR",)), ("HKEY_USERS", ("HKU", "\\REGISTRY\\USER")),
        ("HKEY_CURRENT_CONFIG", ("HKCC",)), ("HKEY_PERFORMANCE_DATA", ("HKPD",)),
    )
    for spelling in (hive, *spellings)
}
# fmt: on
_REGISTRY = re.compile(
    r"(?P<hive>HKEY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG"
    r"|PERFORMANCE_DATA)|HK(?:LM|CU|CR|U|CC|PD)|\\REGISTRY\\(?:MACHINE|USER))"
    r"(?P<colon>:)?(?P<rest>\\.*)?",
    re.IGNORECASE | re.DOTALL,
)
# A DNS name: LDH labels (underscore allowed, as real DNS has _dmarc and malware uses it), at
# least one dot, and a top-level label that is alphabetic or Punycode.
_DOMAIN = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
_LABEL_SEPARATORS = re.compile("[\u3002\uff0e\uff61]")

# Extensions that make a dotted word a file name, not a domain. Of those that are also TLDs, only
# attack artefacts are listed (.zip .cab .sh .py .one .dot); .com .pl .so .mov .app .run .ws .ps
# .java .rs stay domains (TLDs in real use). A test checks this split against the public suffix
# list, so a new TLD cannot silently change it.
# fmt: off
PREFERRED_FILE_EXTENSIONS: frozenset[str] = frozenset({
    "exe", "dll", "sys", "scr", "cpl", "ocx", "drv", "msi", "msp", "msc", "ps1", "psm1", "psd1",
    "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "jar", "jsp", "jspx", "asp",
    "aspx", "ashx", "asmx", "axd", "php", "php3", "php4", "php5", "php7", "phtml", "phar", "cgi",
    "py", "pyc", "sh", "bash", "elf", "dylib", "zip", "rar", "7z", "gz", "tgz", "bz2", "xz", "tar",
    "cab", "iso", "img", "vhd", "vhdx", "lnk", "url", "doc", "docx", "docm", "dot", "dotm", "xls",
    "xlsx", "xlsm", "xlsb", "xll", "xlam", "ppt", "pptx", "pptm", "ppam", "rtf", "pdf", "one",
    "chm", "inf", "reg", "dat", "tmp", "log", "bin", "bak", "ini", "cfg", "txt", "htm", "html",
    "xml", "svg", "wim", "apk", "dmg", "pkg", "deb", "rpm", "pif", "gadget", "iqy", "slk", "sct",
    "wsc", "class", "war", "ear", "ace", "arj", "lzh", "uue", "dex", "ipa", "kext", "scpt", "ova",
    "vmdk", "pfx", "p12", "db", "sqlite",
})
# fmt: on
_FILE_NAME_BAD = re.compile(r"[\\/:\"<>|\x00-\x1f]")


def detect_type(value: str) -> IndicatorType | None:
    """Tell what kind of indicator a (refanged) value is, or ``None`` when it cannot be told.

    Plain lists do not say what their values are. The checks run from the most to the least
    specific shape, so a value is only a domain when it is nothing narrower. A dotted word whose
    last part is a typical executable, script or archive extension is a file name even when that
    extension is also a TLD (``update.zip``); see :data:`PREFERRED_FILE_EXTENSIONS`. Mutexes and
    e-mail subjects have no recognisable shape: only typed sources give them.
    """
    if not value or value != value.strip():
        return None
    kind = _HASH_BY_LENGTH.get(len(value))
    if kind is not None and _HEX.fullmatch(value):
        return kind
    first = value[0]
    if first.isdigit():
        if _SSDEEP.fullmatch(value):
            return IndicatorType.SSDEEP
        if _ipv4_or_none(value) is not None:
            return IndicatorType.IPV4
    if (first in "cC") and _CVE.fullmatch(value):
        return IndicatorType.CVE
    if "://" in value:
        return IndicatorType.URL if _URL_SCHEME.match(value) else None
    if first in "hH\\" and _REGISTRY.fullmatch(value):
        return IndicatorType.REGISTRY
    if _WINDOWS_PATH.match(value):
        return IndicatorType.FILE_PATH
    if ":" in value or "/" in value:
        network = _detect_address(value)
        if network is not None:
            return network
        if first == "/":
            return IndicatorType.FILE_PATH if _POSIX_PATH.fullmatch(value) else None
        return IndicatorType.URL if "/" in value and _is_bare_url(value) else None
    if "@" in value:
        if _EMAIL.fullmatch(value) and _is_domain(value.rpartition("@")[2]):
            return IndicatorType.EMAIL
        return None
    return _detect_name(value)


def _detect_address(value: str) -> IndicatorType | None:
    try:
        if "/" in value:
            _normalise_cidr(value)
            return IndicatorType.CIDR
        _pack_ipv6(value)
    except ValueError:
        return None
    return IndicatorType.IPV6


def _is_bare_url(value: str) -> bool:
    """``evil.example/gate.php``: advisories often drop the scheme, never the host."""
    host, _, port = value.partition("/")[0].partition(":")
    if (port and not port.isdigit()) or " " in value:
        return False
    if _ipv4_or_none(host) is not None:
        return True
    return _detect_name(host) is IndicatorType.DOMAIN


def _detect_name(value: str) -> IndicatorType | None:
    stem, dot, extension = value.rpartition(".")
    if dot and stem and extension.lower() in PREFERRED_FILE_EXTENSIONS:
        return None if _FILE_NAME_BAD.search(value) else IndicatorType.FILE_NAME
    if _is_domain(value):
        return IndicatorType.DOMAIN
    return None


def _is_domain(value: str) -> bool:
    try:
        _normalise_domain(value)
    except ValueError:
        return False
    return True


# --- normalisation ----------------------------------------------------------------------------


def normalise(type: IndicatorType, value: str) -> str:
    """Return the canonical form of ``value`` as an indicator of ``type``.

    Raises ``ValueError`` with a reason a person can act on when the value is not a valid
    indicator of that type. Normalising a canonical value returns it unchanged.
    """
    return _NORMALISERS[type](value)


def _normalise_hash(kind: IndicatorType, length: int) -> Callable[[str], str]:
    def normalise_hash(value: str) -> str:
        text = value.strip()
        if len(text) != length:
            raise ValueError(f"{kind.value} has {length} hex digits, not {len(text)}")
        if not _HEX.fullmatch(text):
            raise ValueError(f"{kind.value} must be hexadecimal")
        return text.lower()

    return normalise_hash


def _normalise_ssdeep(value: str) -> str:
    text = value.strip()
    if not _SSDEEP.fullmatch(text):
        raise ValueError("not an ssdeep hash (blocksize:hash:hash)")
    return text


def _ipv4_or_none(text: str) -> str | None:
    """Canonical dotted quad, or ``None``.

    Zero-padded octets (``010.001.001.001``) are read as *decimal*: lists pad addresses for
    alignment, while octal notation is an obfuscation of URLs, not something intel lists write.
    """
    if _CANONICAL_QUAD.fullmatch(text):
        return text
    parts = text.split(".")
    if len(parts) != 4 or not all(0 < len(p) <= 3 and p.isdigit() and p.isascii() for p in parts):
        return None
    octets = [int(part) for part in parts]
    return ".".join(map(str, octets)) if max(octets) <= 255 else None


def _normalise_ipv4(value: str) -> str:
    text = refang(value)
    canonical = _ipv4_or_none(text)
    if canonical is None:
        raise ValueError("not an IPv4 address (four decimal octets 0-255)")
    return canonical


def _format_ipv6(address: ipaddress.IPv6Address) -> str:
    # RFC 5952 §5: IPv4-mapped addresses keep the dotted quad; Python's own str() of them changed
    # between versions, so the canonical text is pinned here.
    mapped = address.ipv4_mapped
    return f"::ffff:{mapped}" if mapped is not None else address.compressed


def _ipv6_text(packed: bytes) -> str:
    """RFC 5952 text of 16 bytes: the C library's ``inet_ntop`` when it agrees with Python.

    ``ipaddress`` formats in pure Python (~20 µs); ``inet_ntop`` is ~1 µs. Both follow RFC 5952
    except for the deprecated IPv4-compatible form (``::1.2.3.4``), which only the C library
    writes, so any dotted result other than the mapped form is formatted by ``ipaddress``.
    """
    if _NTOP_AGREES:
        text = socket.inet_ntop(socket.AF_INET6, packed)
        if "." not in text or text.startswith("::ffff:"):
            return text
    return _format_ipv6(ipaddress.IPv6Address(packed))


def _ntop_agrees() -> bool:
    """Whether this platform's ``inet_ntop`` writes what ``ipaddress`` writes, on tricky cases."""
    samples = ("2001:db8:0:1:1:1:1:1", "2001:0:0:1::1", "::", "1::", "::ffff:192.0.2.1", "0:1::")
    try:
        pack, ntop, v6 = socket.inet_pton, socket.inet_ntop, socket.AF_INET6
        round_trip = [ntop(v6, pack(v6, sample)) for sample in samples]
    except (OSError, ValueError, AttributeError):
        return False
    return round_trip == [_format_ipv6(ipaddress.IPv6Address(text)) for text in round_trip]


_NTOP_AGREES = _ntop_agrees()


def _pack_ipv6(text: str) -> bytes:
    if "%" in text:
        raise ValueError("an IPv6 scope id (%...) is local to one host; drop it")
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        raise ValueError(f"not an IPv6 address: {text[:50]!r}") from None


def _normalise_ipv6(value: str) -> str:
    text = refang(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return _ipv6_text(_pack_ipv6(text))


def _normalise_cidr(value: str) -> str:
    """Canonical network, host bits cleared; a /32 or /128 stays a one-address network.

    ``address/length`` is computed on integers (the common case, fast); netmask and hostmask
    spellings (``10.0.0.0/255.0.0.0``) go through ``ipaddress``.
    """
    text = refang(value)
    address, slash, prefix = text.partition("/")
    if not slash:
        raise ValueError("a CIDR needs a prefix length (address/length)")
    if prefix.isdigit() and prefix.isascii() and len(prefix) <= 3:
        length = int(prefix)
        v4 = _ipv4_or_none(address)
        if v4 is not None and length <= 32:
            number = int.from_bytes(socket.inet_aton(v4), "big") >> (32 - length) << (32 - length)
            return f"{socket.inet_ntoa(number.to_bytes(4, 'big'))}/{length}"
        if ":" in address and length <= 128:
            shift = 128 - length
            number = int.from_bytes(_pack_ipv6(address), "big") >> shift << shift
            return f"{_ipv6_text(number.to_bytes(16, 'big'))}/{length}"
    try:
        network = ipaddress.ip_network(
            f"{_ipv4_or_none(address) or address}/{prefix}", strict=False
        )
    except ValueError as error:
        raise ValueError(f"not a network: {error}") from None
    if isinstance(network, ipaddress.IPv6Network):
        return f"{_ipv6_text(network.network_address.packed)}/{network.prefixlen}"
    return str(network)


def _normalise_domain(value: str) -> str:
    """Lower-case ASCII (Punycode) name without trailing dot.

    Unicode names are converted label by label as UTS #46 non-transitional processing does (NFKC,
    lower-case, Punycode), which is what browsers and resolvers send: ``straße.de`` becomes
    ``xn--strae-oqa.de``, whereas Python's IDNA 2003 codec would give ``strasse.de`` and never
    match DNS logs.
    """
    text = value.strip().rstrip(".").lower()
    if not text.isascii():
        text = _to_ascii(text)
    if len(text) > 253:
        raise ValueError(f"a domain is at most 253 characters, this one has {len(text)}")
    if _DOMAIN.fullmatch(text) is None:
        raise ValueError(_domain_problem(text))
    if "xn--" in text:
        for label in text.split("."):
            if label.startswith("xn--"):
                try:
                    label[4:].encode("ascii").decode("punycode")
                except UnicodeError:
                    raise ValueError(f"label {label!r} is not valid Punycode") from None
    return text


def _to_ascii(text: str) -> str:
    labels = _LABEL_SEPARATORS.sub(".", unicodedata.normalize("NFKC", text)).lower().split(".")
    out: list[str] = []
    for label in labels:
        if label.isascii():
            out.append(label)
            continue
        if not all(ch.isalnum() or ch == "-" or unicodedata.category(ch)[0] == "M" for ch in label):
            raise ValueError(f"label {label!r} contains characters a domain cannot have")
        out.append("xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(out)


def _domain_problem(text: str) -> str:
    if "." not in text:
        return "a domain needs at least one dot"
    labels = text.split(".")
    for label in labels:
        if not label:
            return "a domain cannot have an empty label (..)"
        if len(label) > 63:
            return f"label {label[:20]!r}… is {len(label)} characters; at most 63"
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1]):
        return f"{labels[-1]!r} is not a top-level domain"
    return "a domain has only letters, digits, '-' and '_' between its dots"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


def _normalise_url(value: str) -> str:
    """Refanged URL, scheme and host lower-case (host as IDNA), default port and fragment dropped.

    A value without a scheme gets ``http://``: sources that type a value as URL often drop it.
    Path and query are kept byte for byte because servers may treat them case-sensitively.
    """
    text = refang(value)
    if not text:
        raise ValueError("empty URL")
    if not _URL_SCHEME.match(text):
        text = "http://" + text
    parts = _URL_PARTS.fullmatch(text)
    if parts is None:
        raise ValueError("not a URL: scheme://host/path expected")
    scheme, authority, path, query = parts.group("scheme", "authority", "path", "query")
    scheme = scheme.lower()
    userinfo, host, port = _split_authority(authority)
    netloc = _url_canonical_host(host)
    if port and _DEFAULT_PORTS.get(scheme) != int(port):
        netloc = f"{netloc}:{int(port)}"
    if userinfo is not None:
        netloc = f"{userinfo}@{netloc}"
    if not path and netloc and scheme in _DEFAULT_PORTS:
        path = "/"  # RFC 3986 §6.2.3: an empty path and "/" are the same resource
    return f"{scheme}://{netloc}{path}{query or ''}"


def _split_authority(netloc: str) -> tuple[str | None, str, str]:
    """``(userinfo or None, host, port)``, by hand: ``SplitResult.hostname`` re-parses each time."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("not a URL: unbalanced [ ] around an IPv6 host")
        port = rest[1:]
        host = "[" + host + "]"
    else:
        host, _, port = hostport.partition(":")
    if port and not (port.isdigit() and port.isascii() and int(port) <= 65535):
        raise ValueError(f"not a URL: port {port[:10]!r} is not 0-65535")
    return (userinfo if at else None), host, port


def _url_canonical_host(host: str) -> str:
    if not host:
        return ""
    if host.startswith("["):
        return f"[{_normalise_ipv6(host[1:-1])}]"
    canonical = _ipv4_or_none(host) if host[0].isdigit() else None
    if canonical is not None:
        return canonical
    try:
        return _normalise_domain(host)
    except ValueError:
        # Single-label or otherwise odd hosts (intranet names) are kept, lower-cased.
        lowered = host.lower()
        return lowered if lowered.isascii() else _to_ascii(lowered)


def _normalise_email(value: str) -> str:
    """Whole address lower-cased: local parts are case-sensitive in theory (RFC 5321) and
    case-insensitive in every real mail system; matching needs one form."""
    text = refang(value)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("an e-mail address is local-part@domain")
    if not _EMAIL.fullmatch(text):
        raise ValueError("an e-mail address has no spaces, brackets or commas")
    return f"{local.lower()}@{_normalise_domain(domain)}"


def _normalise_file_name(value: str) -> str:
    """Trimmed and lower-cased: Windows file names are case-insensitive; most intel is Windows."""
    text = value.strip()
    if not text:
        raise ValueError("empty file name")
    if "\\" in text or "/" in text:
        raise ValueError("a file name has no path separators; this looks like a file path")
    if _FILE_NAME_BAD.search(text.replace(":", "")):
        raise ValueError('a file name cannot contain control characters or " < > |')
    return text.lower()


def _normalise_file_path(value: str) -> str:
    """Windows paths: ``\\`` separators, no ``\\\\?\\`` prefix, lower-case. POSIX paths: as given.

    Windows paths compare case-insensitively; POSIX paths do not, so only the former are folded.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty file path")
    if text.startswith("\\\\?\\"):
        text = text[4:]
    if _WINDOWS_PATH.match(text):
        unc = text.startswith("\\\\") or text.startswith("//")
        body = re.sub(r"[\\/]+", r"\\", text)
        return ("\\" + body if unc else body).lower()
    if text.startswith("/"):
        return re.sub(r"/+", "/", text)
    raise ValueError("not an absolute path (C:\\…, %VAR%\\…, \\\\server\\share or /…)")


def _normalise_registry(value: str) -> str:
    """Hive spelled out (``HKLM`` → ``HKEY_LOCAL_MACHINE``), rest kept, no trailing ``\\``.

    Key names keep their case: the matcher compares case-insensitively and analysts read it.
    """
    text = value.strip()
    if text.lower().startswith("registry::"):
        text = text[10:]
    match = _REGISTRY.fullmatch(text)
    hive = _REGISTRY_HIVES.get(match.group("hive").upper()) if match else None
    if match is None or hive is None:
        raise ValueError("a registry key starts with a hive (HKEY_…, HKLM, HKCU, HKCR, HKU, HKCC)")
    rest = (match.group("rest") or "").rstrip("\\")
    return hive + rest


def _normalise_cve(value: str) -> str:
    match = _CVE.fullmatch(value.strip())
    if match is None:
        raise ValueError("a CVE id is CVE-YYYY-NNNN")
    return f"CVE-{match.group(1)}-{match.group(2)}"


def _normalise_trimmed(what: str) -> Callable[[str], str]:
    def normalise_trimmed(value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError(f"empty {what}")
        return text

    return normalise_trimmed


def _normalise_path_regex(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("empty regular expression")
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError) as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return text


# fmt: off
_NORMALISERS: dict[IndicatorType, Callable[[str], str]] = {
    _T.MD5: _normalise_hash(_T.MD5, 32), _T.SHA1: _normalise_hash(_T.SHA1, 40),
    _T.SHA256: _normalise_hash(_T.SHA256, 64), _T.SHA512: _normalise_hash(_T.SHA512, 128),
    _T.SSDEEP: _normalise_ssdeep, _T.FILE_NAME: _normalise_file_name,
    _T.FILE_PATH: _normalise_file_path, _T.PATH_REGEX: _normalise_path_regex,
    _T.DOMAIN: lambda value: _normalise_domain(refang(value)), _T.IPV4: _normalise_ipv4,
    _T.IPV6: _normalise_ipv6, _T.CIDR: _normalise_cidr, _T.URL: _normalise_url,
    _T.EMAIL: _normalise_email, _T.EMAIL_SUBJECT: _normalise_trimmed("e-mail subject"),
    _T.MUTEX: _normalise_trimmed("mutex name"), _T.REGISTRY: _normalise_registry,
    _T.CVE: _normalise_cve,
}
# fmt: on


# --- helpers for matching ---------------------------------------------------------------------


def url_host(url: str) -> str | None:
    """The lower-case host of a URL (domain, dotted quad or bare IPv6), else ``None``."""
    parts = _URL_PARTS.fullmatch(url if _URL_SCHEME.match(url) else "http://" + url)
    if parts is None:
        return None
    try:
        host = _split_authority(parts.group("authority"))[1]
    except ValueError:
        return None
    return host.strip("[]").lower() or None


def email_domain(email: str) -> str | None:
    """The domain part of an e-mail address, or ``None`` when there is no ``@``."""
    local, at, domain = email.rpartition("@")
    return domain if at and local and domain else None
