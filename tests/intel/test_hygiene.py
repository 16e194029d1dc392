"""Hygiene verdicts: which values are benign, which are never matched, and why."""

from __future__ import annotations

import hashlib

import pytest

from seawall.intel.hygiene import (
    EMPTY_FILE_HASHES,
    Hygiene,
    assess,
    is_public_suffix,
    public_suffix_list,
    registrable_domain,
)
from seawall.intel.normalize import normalise
from seawall.model.indicator import IndicatorType as T


@pytest.mark.parametrize(("value", "kind"), sorted(EMPTY_FILE_HASHES.items()))
def test_empty_file_hashes_are_benign(value: str, kind: T) -> None:
    verdict = assess(kind, value)
    assert verdict.benign_reason is not None
    assert "empty" in verdict.benign_reason
    assert verdict.rejected_reason is None
    assert verdict.usable


def test_empty_file_hashes_are_the_real_digests() -> None:
    assert set(EMPTY_FILE_HASHES) == {
        hashlib.md5(b"").hexdigest(),
        hashlib.sha1(b"").hexdigest(),
        hashlib.sha256(b"").hexdigest(),
        hashlib.sha512(b"").hexdigest(),
    }


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (T.IPV4, "192.168.1.1", "private"),
        (T.IPV4, "10.20.30.40", "private"),
        (T.IPV4, "172.31.255.255", "private"),
        (T.IPV4, "127.0.0.1", "loopback"),
        (T.IPV4, "169.254.10.1", "link-local"),
        (T.IPV4, "224.0.0.251", "multicast"),
        (T.IPV4, "0.0.0.0", "unspecified"),
        (T.IPV4, "100.64.1.1", "shared address space"),
        (T.IPV4, "192.0.2.10", "documentation"),
        (T.IPV4, "198.51.100.23", "documentation"),
        (T.IPV4, "203.0.113.7", "documentation"),
        (T.IPV4, "250.1.1.1", "reserved"),
        (T.IPV4, "255.255.255.255", "broadcast"),
        (T.IPV6, "::1", "loopback"),
        (T.IPV6, "::", "unspecified"),
        (T.IPV6, "fd12:3456::1", "unique local"),
        (T.IPV6, "fe80::1", "link-local"),
        (T.IPV6, "ff02::1", "multicast"),
        (T.IPV6, "2001:db8::1", "documentation"),
        (T.IPV6, "::ffff:10.0.0.1", "private"),
        (T.CIDR, "192.168.0.0/24", "private"),
        (T.CIDR, "10.0.0.0/8", "private"),
        (T.CIDR, "2001:db8:1::/48", "documentation"),
        (T.DOMAIN, "example.com", "RFC 2606"),
        (T.DOMAIN, "www.example.org", "RFC 2606"),
        (T.DOMAIN, "evil.example", "RFC 2606"),
        (T.DOMAIN, "c2.test", "testing"),
        (T.DOMAIN, "nowhere.invalid", "never resolve"),
        (T.DOMAIN, "localhost", "this computer"),
        (T.DOMAIN, "db.localhost", "this computer"),
        (T.DOMAIN, "printer.local", "multicast DNS"),
        (T.URL, "http://192.168.1.1/admin", "private"),
        (T.URL, "http://[::1]:8080/", "loopback"),
        (T.URL, "https://www.example.com/x", "RFC 2606"),
        (T.EMAIL, "bob@example.net", "RFC 2606"),
    ],
)
def test_benign(kind: T, value: str, reason: str) -> None:
    verdict = assess(kind, value)
    assert verdict.rejected_reason is None
    assert verdict.benign_reason is not None
    assert reason in verdict.benign_reason


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (T.DOMAIN, "co.uk", "public suffix"),
        (T.DOMAIN, "com", "bare top-level domain"),
        (T.DOMAIN, "github.io", "public suffix"),
        (T.CIDR, "0.0.0.0/0", "over-generic"),
        (T.CIDR, "8.0.0.0/7", "over-generic"),
        (T.CIDR, "2000::/3", "over-generic"),
        (T.FILE_NAME, "*", "wildcards only"),
        (T.FILE_NAME, "*.*", "wildcards only"),
        (T.FILE_NAME, "*.exe", "wildcards only"),
        (T.FILE_NAME, "mal*.exe", "path_regex"),
        (T.FILE_NAME, "a1", "too generic"),
        (T.URL, "http:///gate.php", "without a host"),
        (T.EMAIL, "bob@co.uk", "not a registrable domain"),
        (T.MUTEX, "ab", "too generic"),
        (T.FILE_PATH, "/x", "too generic"),
        (T.FILE_PATH, "c:\\", "root"),
        (T.FILE_PATH, "%appdata%", "root"),
        (T.PATH_REGEX, ".*", "too generic"),
        (T.PATH_REGEX, "(?:exe)?", "empty string"),
        (T.REGISTRY, "HKEY_LOCAL_MACHINE", "whole hive"),
    ],
)
def test_rejected(kind: T, value: str, reason: str) -> None:
    verdict = assess(kind, value)
    assert verdict.rejected_reason is not None
    assert reason in verdict.rejected_reason
    assert not verdict.usable


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (T.MD5, "44d88612fea8a8f36de82e1278abb02f"),
        (T.IPV4, "8.8.4.4"),
        (T.IPV4, "1.2.3.4"),
        (T.IPV6, "2606:4700::1111"),
        (T.CIDR, "45.0.0.0/8"),
        (T.CIDR, "2001:4860::/32"),
        (T.DOMAIN, "evil.co.uk"),
        (T.DOMAIN, "a.b.c.evil.co.uk"),
        (T.DOMAIN, "examples.com"),  # not example.com
        (T.URL, "http://evil.co.uk/gate.php"),
        (T.EMAIL, "phish@evil.co.uk"),
        (T.FILE_NAME, "putty.exe"),
        (T.FILE_PATH, "c:\\users\\public\\libraries\\svchost.exe"),
        (T.REGISTRY, "HKEY_LOCAL_MACHINE\\Software\\Run"),
        (T.PATH_REGEX, "\\\\Temp\\\\[a-z]{3}\\.exe$"),
        (T.CVE, "CVE-2021-26855"),
        (T.MUTEX, "Global\\evil"),
    ],
)
def test_clean(kind: T, value: str) -> None:
    assert assess(kind, value) == Hygiene()


def test_every_type_is_assessed() -> None:
    """No type falls through: a new IndicatorType must get a hygiene rule (and a sample here)."""
    samples = {
        T.MD5: "44d88612fea8a8f36de82e1278abb02f",
        T.SHA1: "3395856ce81f2b7382dee72602f798b642f14140",
        T.SHA256: "ab" * 32,
        T.SHA512: "cd" * 64,
        T.SSDEEP: "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C",
        T.FILE_NAME: "rar.exe",
        T.FILE_PATH: "c:\\perflogs\\rar.exe",
        T.PATH_REGEX: "\\\\PerfLogs\\\\[^\\\\]+\\.exe",
        T.DOMAIN: "evil.co.uk",
        T.IPV4: "8.8.4.4",
        T.IPV6: "2606:4700::1111",
        T.CIDR: "45.0.0.0/16",
        T.URL: "http://evil.co.uk/x",
        T.EMAIL: "phish@evil.co.uk",
        T.EMAIL_SUBJECT: "Urgent: invoice",
        T.MUTEX: "Global\\evil",
        T.REGISTRY: "HKEY_CURRENT_USER\\Environment",
        T.CVE: "CVE-2021-26855",
    }
    assert set(samples) == set(T)
    for kind, value in samples.items():
        assert assess(kind, normalise(kind, value)) == Hygiene(), kind


def test_assess_after_normalise() -> None:
    """The intended pipeline: normalise first, then judge the canonical value."""
    assert assess(T.DOMAIN, normalise(T.DOMAIN, "CO.UK.")).rejected_reason is not None
    assert assess(T.IPV4, normalise(T.IPV4, "192.168.001.001")).benign_reason is not None
    assert assess(T.CIDR, normalise(T.CIDR, "10.1.2.3/16")).benign_reason is not None


def test_public_suffix_helpers() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("WWW.Example.COM.") == "example.com"
    assert registrable_domain("co.uk") is None
    assert registrable_domain("com") is None
    assert registrable_domain("") is None
    assert registrable_domain("xn--bcher-kva.de") == "xn--bcher-kva.de"
    assert registrable_domain("x.evil.github.io") == "evil.github.io"
    assert is_public_suffix("co.uk")
    assert is_public_suffix("com")
    assert is_public_suffix("COM.")
    assert not is_public_suffix("example.co.uk")
    assert not is_public_suffix("")
    assert public_suffix_list() is public_suffix_list()


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (T.DOMAIN, "c2.evil.example"),
        (T.DOMAIN, "tunnel.test"),
        (T.DOMAIN, "mail.example.com"),
        (T.IPV4, "203.0.113.7"),
        (T.IPV6, "2001:db8::7"),
        (T.URL, "http://198.51.100.9/x"),
        (T.EMAIL, "lure@phish.example"),
    ],
)
def test_an_exercise_keeps_documentation_values_live(kind: T, value: str) -> None:
    assert assess(kind, value).benign_reason  # benign in real intel
    assert assess(kind, value, exercise=True).usable
    assert assess(kind, value, exercise=True).benign_reason is None


@pytest.mark.parametrize(
    ("kind", "value"),
    [(T.IPV4, "10.1.2.3"), (T.IPV4, "127.0.0.1"), (T.DOMAIN, "localhost"), (T.DOMAIN, "x.local")],
)
def test_an_exercise_never_makes_private_or_local_values_live(kind: T, value: str) -> None:
    assert assess(kind, value, exercise=True).benign_reason
