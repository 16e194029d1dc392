"""Refanging, type detection and canonical values: the definition of "the same indicator"."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seawall.intel.hygiene import public_suffix_list
from seawall.intel.normalize import (
    PREFERRED_FILE_EXTENSIONS,
    detect_type,
    email_domain,
    normalise,
    refang,
    url_host,
)
from seawall.model.indicator import IndicatorType as T


@pytest.mark.parametrize(
    ("defanged", "live"),
    [
        ("hxxp://evil[.]example[.]net/x", "http://evil.example.net/x"),
        ("hXXps://evil(.)example{.}org", "https://evil.example.org"),
        ("hxxps[://]evil[dot]example(dot)com", "https://evil.example.com"),
        ("http[:]//evil[.]example.com", "http://evil.example.com"),
        ("fxp://files[.]example.net", "ftp://files.example.net"),
        ("h**p://evil.example.net", "http://evil.example.net"),
        ("1.2.3[.]4", "1.2.3.4"),
        ("10[.]0[.]0[.]1", "10.0.0.1"),
        ("phish[@]example[.]com", "phish@example.com"),
        ("phish[at]example[.]com", "phish@example.com"),
        ("phish(at)example.com", "phish@example.com"),
        ("evil dot example dot com", "evil.example.com"),
        ("bob at evil dot example", "bob@evil.example"),
        ("  '<http://evil.example.net>'  ", "http://evil.example.net"),
        ('"evil.example.net"', "evil.example.net"),
        # Left alone: free text, IPv6 literals, registry GUIDs, ordinary words.
        ("meet at noon", "meet at noon"),
        ("connect the dot now", "connect the dot now"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("HKLM\\Software\\Classes\\{0000-1111}", "HKLM\\Software\\Classes\\{0000-1111}"),
        ("hxxpd", "hxxpd"),
    ],
)
def test_refang(defanged: str, live: str) -> None:
    assert refang(defanged) == live


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("d41d8cd98f00b204e9800998ecf8427e", T.MD5),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", T.SHA1),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", T.SHA256),
        ("ab" * 64, T.SHA512),
        ("3072:Z3z1JuMCwZz7VeGe8vyJgvFqp:Z3rLEz5ZOlFqp", T.SSDEEP),
        ("1.2.3.4", T.IPV4),
        ("::1", T.IPV6),
        ("2001:db8::1", T.IPV6),
        ("::ffff:192.0.2.1", T.IPV6),
        ("10.0.0.0/8", T.CIDR),
        ("2001:db8::/32", T.CIDR),
        ("http://evil.example.net/x", T.URL),
        ("ftp://files.example.net", T.URL),
        ("evil.example.net/gate.php", T.URL),
        ("evil.example.net:8080/", T.URL),
        ("203.0.113.5/x/upd.exe", T.URL),
        ("bob@evil.example.net", T.EMAIL),
        ("CVE-2021-26855", T.CVE),
        ("cve-2021-1234567", T.CVE),
        ("HKLM\\Software\\Run", T.REGISTRY),
        ("HKEY_CURRENT_USER\\Software\\Microsoft", T.REGISTRY),
        ("HKCU:\\Environment", T.REGISTRY),
        ("C:\\Windows\\Temp\\x.exe", T.FILE_PATH),
        ("c:/users/public/x.exe", T.FILE_PATH),
        ("%SystemRoot%\\System32\\x.dll", T.FILE_PATH),
        ("\\\\fileserver\\share\\tool.exe", T.FILE_PATH),
        ("/usr/local/bin/kworker", T.FILE_PATH),
        ("a.b.c.example.co.uk", T.DOMAIN),
        ("evil.example.net", T.DOMAIN),
        ("bücher.de", T.DOMAIN),
        ("xn--bcher-kva.de", T.DOMAIN),
        ("_dmarc.example.org", T.DOMAIN),
        ("evil.pl", T.DOMAIN),  # Poland before Perl
        ("tools.com", T.DOMAIN),
        ("putty.exe", T.FILE_NAME),
        ("update.zip", T.FILE_NAME),  # .zip is a TLD, but an archive first
        ("install.sh", T.FILE_NAME),
        ("Invoice 2021.pdf.exe", T.FILE_NAME),
        ("*.exe", T.FILE_NAME),
        ("shell.aspx", T.FILE_NAME),
        # Nothing recognisable.
        ("", None),
        ("foo", None),
        (" evil.example.net", None),
        ("999.1.1.1", None),
        ("1.2.3.4:8080", None),
        ("evil.example.net/has space", None),
        ("putty.exe/x", None),
        ("this is text", None),
        ("fe80::1%eth0", None),
        ("HKEY_NOWHERE\\x", None),
        ("a@b", None),
    ],
)
def test_detect_type(value: str, kind: T | None) -> None:
    assert detect_type(value) is kind


def test_preferred_extensions_that_are_tlds_are_the_documented_ones() -> None:
    """A new TLD matching an extension changes what plain lists mean: make it visible."""
    psl = public_suffix_list()
    colliding = {
        ext
        for ext in PREFERRED_FILE_EXTENSIONS
        if psl.publicsuffix(f"x.{ext}", accept_unknown=False) is not None
    }
    assert colliding == {"zip", "cab", "sh", "py", "one", "dot"}
    for tld in ("com", "pl", "so", "mov", "app", "run", "ws", "ps", "java", "rs"):
        assert detect_type(f"name.{tld}") is T.DOMAIN


@pytest.mark.parametrize(
    ("kind", "value", "canonical"),
    [
        (T.MD5, " D41D8CD98F00B204E9800998ECF8427E ", "d41d8cd98f00b204e9800998ecf8427e"),
        (
            T.SHA1,
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        (T.DOMAIN, "EXAMPLE.COM.", "example.com"),
        (T.DOMAIN, "evil[.]Example[.]net", "evil.example.net"),
        (T.DOMAIN, "bücher.de", "xn--bcher-kva.de"),
        (T.DOMAIN, "BÜCHER.de", "xn--bcher-kva.de"),
        (T.DOMAIN, "xn--bcher-kva.de", "xn--bcher-kva.de"),
        (T.DOMAIN, "straße.de", "xn--strae-oqa.de"),  # UTS 46 non-transitional, as browsers
        (T.DOMAIN, "例え。テスト", "xn--r8jz45g.xn--zckzah"),
        (T.IPV4, "1.2.3[.]4", "1.2.3.4"),
        (T.IPV4, "010.001.000.009", "10.1.0.9"),  # padded octets read as decimal
        (T.IPV6, "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        (T.IPV6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        (T.IPV6, "FE80:0:0:0:0:0:0:1", "fe80::1"),
        (T.IPV6, "[::1]", "::1"),
        (T.IPV6, "::FFFF:C000:0201", "::ffff:192.0.2.1"),  # IPv4-mapped stays IPv6, dotted
        (T.CIDR, "10.1.2.3/8", "10.0.0.0/8"),
        (T.CIDR, "192.0.2.7/32", "192.0.2.7/32"),
        (T.CIDR, "10.0.0.0/255.255.0.0", "10.0.0.0/16"),
        (T.CIDR, "2001:DB8::1/32", "2001:db8::/32"),
        (T.CIDR, "2001:db8::1/128", "2001:db8::1/128"),
        (T.URL, "HXXPS://EVIL[.]Example.com:443/A/B?q=1#frag", "https://evil.example.com/A/B?q=1"),
        (T.URL, "http://evil.example.com:80", "http://evil.example.com/"),
        (T.URL, "http://evil.example.com:8080/x", "http://evil.example.com:8080/x"),
        (T.URL, "evil.example.com/gate.php", "http://evil.example.com/gate.php"),
        (T.URL, "http://user@BÜCHER.de/x", "http://user@xn--bcher-kva.de/x"),
        (T.URL, "http://[2001:DB8::0001]:8443/", "http://[2001:db8::1]:8443/"),
        (T.URL, "http://010.0.0.1/x", "http://10.0.0.1/x"),
        (T.EMAIL, "Phish[@]Mail.Example.COM", "phish@mail.example.com"),
        (T.EMAIL, "mailto:Bob@example.com", "bob@example.com"),
        (T.FILE_NAME, "  PuTTY.exe ", "putty.exe"),
        (T.FILE_PATH, "C:/Windows//Temp/X.EXE", "c:\\windows\\temp\\x.exe"),
        (T.FILE_PATH, "\\\\?\\C:\\Temp\\a.exe", "c:\\temp\\a.exe"),
        (T.FILE_PATH, "\\\\FileServer\\Share\\A.exe", "\\\\fileserver\\share\\a.exe"),
        (T.FILE_PATH, "%SystemRoot%\\Temp\\A.exe", "%systemroot%\\temp\\a.exe"),
        (T.FILE_PATH, "/tmp//Kworker", "/tmp/Kworker"),
        (T.REGISTRY, "HKLM\\Software\\Run\\", "HKEY_LOCAL_MACHINE\\Software\\Run"),
        (T.REGISTRY, "hkcu:\\Environment", "HKEY_CURRENT_USER\\Environment"),
        (T.REGISTRY, "\\REGISTRY\\MACHINE\\SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM"),
        (T.REGISTRY, "Registry::HKEY_USERS\\S-1-5-18", "HKEY_USERS\\S-1-5-18"),
        (T.CVE, "cve-2021-26855", "CVE-2021-26855"),
        (
            T.SSDEEP,
            " 3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C ",
            "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C",
        ),
        (T.MUTEX, " Global\\MsWinZonesCacheCounterMutexA ", "Global\\MsWinZonesCacheCounterMutexA"),
        (T.EMAIL_SUBJECT, "  Urgent: invoice  ", "Urgent: invoice"),
        (T.PATH_REGEX, "\\\\Temp\\\\[a-z]{3}\\.exe$", "\\\\Temp\\\\[a-z]{3}\\.exe$"),
    ],
)
def test_normalise(kind: T, value: str, canonical: str) -> None:
    assert normalise(kind, value) == canonical
    assert normalise(kind, canonical) == canonical


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427", "32 hex digits"),
        (T.SHA256, "z" * 64, "hexadecimal"),
        (T.DOMAIN, "a" * 64 + ".example", "at most 63"),
        (T.DOMAIN, ("a" * 60 + ".") * 5 + "com", "at most 253"),
        (T.DOMAIN, "evil..example", "empty label"),
        (T.DOMAIN, "evil.example.123", "not a top-level domain"),
        (T.DOMAIN, "ev!l.example", "letters, digits"),
        (T.DOMAIN, "localhost", "at least one dot"),
        (T.DOMAIN, "😀.example", "cannot have"),
        (T.IPV4, "256.1.1.1", "IPv4"),
        (T.IPV6, "fe80::1%eth0", "scope id"),
        (T.IPV6, "2001:db8::g", "IPv6"),
        (T.CIDR, "10.0.0.0", "prefix length"),
        (T.CIDR, "10.0.0.0/33", "not a network"),
        (T.URL, "http://evil.example:99999/", "not a URL"),
        (T.EMAIL, "no-at-sign.example", "local-part@domain"),
        (T.EMAIL, "bob smith@example.com", "no spaces"),
        (T.FILE_NAME, "C:\\x.exe", "path separators"),
        (T.FILE_PATH, "relative\\x.exe", "absolute path"),
        (T.REGISTRY, "Software\\Run", "hive"),
        (T.CVE, "CVE-21-1", "CVE-YYYY-NNNN"),
        (T.SSDEEP, "not ssdeep", "ssdeep"),
        (T.MUTEX, "   ", "empty"),
        (T.PATH_REGEX, "\\\\Temp\\\\[", "regular expression"),
    ],
)
def test_normalise_rejects_with_a_reason(kind: T, value: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise(kind, value)
    assert reason in str(caught.value)


def test_url_host_and_email_domain() -> None:
    assert url_host("http://user@evil.example.net:8080/x") == "evil.example.net"
    assert url_host("http://[2001:db8::1]/") == "2001:db8::1"
    assert url_host("evil.example.net/gate.php") == "evil.example.net"
    assert url_host("http:///no-host") is None
    assert url_host("http://[::1") is None
    assert email_domain("bob@evil.example.net") == "evil.example.net"
    assert email_domain("a@b@evil.example.net") == "evil.example.net"
    assert email_domain("no-domain@") is None
    assert email_domain("nobody") is None


# --- idempotence ----------------------------------------------------------------------------

_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_TLD = st.from_regex(r"[a-z]{2,10}", fullmatch=True)


@given(labels=st.lists(_LABEL, min_size=1, max_size=5), tld=_TLD, upper=st.booleans())
def test_domain_normalisation_is_idempotent(labels: list[str], tld: str, upper: bool) -> None:
    name = ".".join([*labels, tld])
    written = name.upper() + "." if upper else name
    once = normalise(T.DOMAIN, written)
    assert once == name
    assert normalise(T.DOMAIN, once) == once
    assert detect_type(once) in {T.DOMAIN, T.FILE_NAME}


@given(
    labels=st.lists(
        st.text(st.characters(whitelist_categories=("Ll", "Lo")), min_size=1, max_size=10),
        min_size=1,
        max_size=3,
    ),
    tld=_TLD,
)
def test_unicode_domain_normalisation_is_idempotent(labels: list[str], tld: str) -> None:
    name = ".".join([*labels, tld])
    try:
        once = normalise(T.DOMAIN, name)
    except ValueError:
        return  # e.g. a label that NFKC turns into a dot or grows past 63 characters
    assert once.isascii()
    assert normalise(T.DOMAIN, once) == once


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_normalisation_is_idempotent(number: int) -> None:
    text = str(ipaddress.IPv4Address(number))
    assert detect_type(text) is T.IPV4
    assert normalise(T.IPV4, text) == text
    assert normalise(T.IPV4, normalise(T.IPV4, text)) == text


@given(
    st.one_of(
        st.integers(min_value=0, max_value=2**128 - 1),
        st.integers(min_value=0, max_value=2**32 - 1).map(lambda low: (0xFFFF << 32) | low),
        st.integers(min_value=0, max_value=2**32 - 1),  # the deprecated IPv4-compatible range
        st.integers(min_value=0, max_value=2**16 - 1).map(lambda word: word << 64),
    )
)
@example(0)
@example(1)
def test_ipv6_normalisation_is_idempotent_and_rfc5952(number: int) -> None:
    address = ipaddress.IPv6Address(number)
    once = normalise(T.IPV6, address.exploded.upper())
    assert normalise(T.IPV6, once) == once
    mapped = address.ipv4_mapped
    assert once == (f"::ffff:{mapped}" if mapped is not None else address.compressed)
    assert detect_type(once) is T.IPV6


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=32))
def test_cidr_normalisation_is_idempotent(number: int, prefix: int) -> None:
    once = normalise(T.CIDR, f"{ipaddress.IPv4Address(number)}/{prefix}")
    assert normalise(T.CIDR, once) == once
    assert detect_type(once) is T.CIDR


@given(
    st.sampled_from([(T.MD5, 16), (T.SHA1, 20), (T.SHA256, 32), (T.SHA512, 64)]),
    st.data(),
)
def test_hash_normalisation_is_idempotent(kind_size: tuple[T, int], data: st.DataObject) -> None:
    kind, size = kind_size
    digest = data.draw(st.binary(min_size=size, max_size=size)).hex()
    written = "".join(
        ch.upper() if flip else ch
        for ch, flip in zip(
            digest,
            data.draw(st.lists(st.booleans(), min_size=len(digest), max_size=len(digest))),
            strict=True,
        )
    )
    assert detect_type(written) is kind
    once = normalise(kind, written)
    assert once == digest
    assert normalise(kind, once) == once
