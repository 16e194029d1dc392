"""Decide whether a normalised indicator is worth matching, and say why not.

Feeds are full of values that would drown a hunt in noise: the hash of the empty file, private
addresses, documentation ranges, ``co.uk``, ``*.exe``. Dropping them silently would hide what the
source said, so nothing is dropped: a value is either kept and matched but answered "benign, because
…" (:attr:`Hygiene.benign_reason`), or kept in the store and never matched
(:attr:`Hygiene.rejected_reason`). Both carry a reason a person can read in the report.

The public suffix list is read offline from the ``publicsuffixlist`` package, once per process.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from publicsuffixlist import PublicSuffixList

from seawall.intel.normalize import email_domain, url_host
from seawall.model.indicator import IndicatorType

__all__ = [
    "EMPTY_FILE_HASHES",
    "Hygiene",
    "assess",
    "is_public_suffix",
    "public_suffix_list",
    "registrable_domain",
]


@dataclass(frozen=True)
class Hygiene:
    """The verdict on one value: both reasons ``None`` means "match it, nothing to say"."""

    benign_reason: str | None = None
    rejected_reason: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the matcher should look for this value at all."""
        return self.rejected_reason is None


_CLEAN = Hygiene()

EMPTY_FILE_HASHES: dict[str, IndicatorType] = {
    "d41d8cd98f00b204e9800998ecf8427e": IndicatorType.MD5,
    "da39a3ee5e6b4b0d3255bfef95601890afd80709": IndicatorType.SHA1,
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": IndicatorType.SHA256,
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e": IndicatorType.SHA512,
}

# --- public suffixes --------------------------------------------------------------------------


@cache
def public_suffix_list() -> PublicSuffixList:
    """The process-wide public suffix list (parsing it takes ~0.1 s, so it is done once, lazily).

    Unknown top-level labels count as public suffixes (``accept_unknown``), so ``evil.zzz`` has the
    registrable domain ``evil.zzz`` and ``zzz`` alone is a bare TLD.
    """
    return PublicSuffixList(accept_unknown=True)


def registrable_domain(domain: str) -> str | None:
    """The registrable domain ("eTLD+1") of a lower-case ASCII name, ``None`` if it has none.

    ``a.b.example.co.uk`` → ``example.co.uk``; ``co.uk`` → ``None``.
    """
    name = domain.rstrip(".").lower()
    if not name:
        return None
    result: str | None = public_suffix_list().privatesuffix(name)
    return result


def is_public_suffix(domain: str) -> bool:
    """Whether a name is itself a public suffix (``com``, ``co.uk``, ``github.io``)."""
    name = domain.rstrip(".").lower()
    return bool(name) and bool(public_suffix_list().is_public(name))


# --- addresses --------------------------------------------------------------------------------

_SPECIAL_V4 = [
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "'this network' (RFC 1122), never a remote host"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "shared address space for carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.0.0.0/24", "reserved for IETF protocol assignments (RFC 6890)"),
        ("192.0.2.0/24", "a documentation address (RFC 5737)"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("198.18.0.0/15", "reserved for benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "a documentation address (RFC 5737)"),
        ("203.0.113.0/24", "a documentation address (RFC 5737)"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address (RFC 1112)"),
    )
]
_SPECIAL_V6 = [
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address (RFC 6666)"),
        ("2001:db8::/32", "a documentation address (RFC 3849)"),
        ("2001:2::/48", "reserved for benchmarking (RFC 5180)"),
        ("fc00::/7", "a unique local (private) address (RFC 4193)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a deprecated site-local address"),
        ("ff00::/8", "a multicast address"),
    )
]
_V4_RANGES = [(int(n.network_address), int(n.broadcast_address), r) for n, r in _SPECIAL_V4]
_V6_RANGES = [(int(n.network_address), int(n.broadcast_address), r) for n, r in _SPECIAL_V6]
# First octets of every special IPv4 range: most public addresses are cleared by one set lookup.
_SPECIAL_FIRST_OCTETS = frozenset(
    octet for first, last, _ in _V4_RANGES for octet in range(first >> 24, (last >> 24) + 1)
)
_MAPPED_PREFIX = 0xFFFF << 32


def _special_range(first: int, last: int, version: int) -> str | None:
    """The reason of the special range holding all of ``first..last``, if one does."""
    for low, high, reason in _V4_RANGES if version == 4 else _V6_RANGES:
        if low <= first and last <= high:
            return reason
    return None


def _special_ip(value: str) -> str | None:
    """Integer comparisons on the packed address: ``ipaddress`` objects cost ~10 µs each."""
    if ":" not in value:
        packed = socket.inet_aton(value)
        if packed[0] not in _SPECIAL_FIRST_OCTETS:
            return None
        number = int.from_bytes(packed, "big")
        return _special_range(number, number, 4)
    number = int.from_bytes(socket.inet_pton(socket.AF_INET6, value), "big")
    if number >> 32 == 0xFFFF:  # IPv4-mapped: judge the IPv4 address it carries
        mapped = number - _MAPPED_PREFIX
        return _special_range(mapped, mapped, 4)
    return _special_range(number, number, 6)


def _assess_ip(value: str) -> Hygiene:
    reason = _special_ip(value)
    return Hygiene(benign_reason=reason) if reason else _CLEAN


def _assess_cidr(value: str) -> Hygiene:
    address, _, prefix = value.partition("/")
    length = int(prefix)
    version, bits, limit = (6, 128, 32) if ":" in address else (4, 32, 8)
    if length < limit:
        return Hygiene(
            rejected_reason=f"over-generic: a /{length} network is broader than "
            f"/{limit} and would match a large part of the Internet"
        )
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    first = int.from_bytes(socket.inet_pton(family, address), "big")
    last = first | ((1 << (bits - length)) - 1)
    reason = _special_range(first, last, version)
    if reason is None and version == 6 and first >> 32 == 0xFFFF:
        reason = _special_range(first - _MAPPED_PREFIX, last - _MAPPED_PREFIX, 4)
    if reason is not None:
        return Hygiene(benign_reason=f"every address in it is {reason}")
    return _CLEAN


# --- names ------------------------------------------------------------------------------------

_RESERVED_EXACT = {
    "example.com": "example.com is reserved for documentation (RFC 2606)",
    "example.net": "example.net is reserved for documentation (RFC 2606)",
    "example.org": "example.org is reserved for documentation (RFC 2606)",
    "localhost": "localhost always means this computer (RFC 6761)",
    "home.arpa": "home.arpa is reserved for home networks (RFC 8375)",
}
_RESERVED_TLDS = {
    "example": "the .example TLD is reserved for documentation (RFC 2606)",
    "test": "the .test TLD is reserved for testing (RFC 2606)",
    "invalid": "the .invalid TLD can never resolve (RFC 2606)",
    "localhost": "the .localhost TLD always means this computer (RFC 6761)",
    "local": "the .local TLD is multicast DNS on the local link (RFC 6762)",
    "internal": "the .internal TLD is reserved for private networks (ICANN, 2024)",
}


def _reserved_domain(domain: str) -> str | None:
    reason = _RESERVED_EXACT.get(domain)
    if reason is not None:
        return reason
    tld = domain.rpartition(".")[2]
    reason = _RESERVED_TLDS.get(tld)
    if reason is not None:
        return reason
    for parent in ("example.com", "example.net", "example.org", "home.arpa"):
        if domain.endswith("." + parent):
            return _RESERVED_EXACT[parent]
    return None


def _assess_domain(value: str) -> Hygiene:
    reserved = _reserved_domain(value)
    if reserved is not None:
        return Hygiene(benign_reason=reserved)
    if is_public_suffix(value):
        what = "a bare top-level domain" if "." not in value else "a public suffix"
        return Hygiene(
            rejected_reason=f"{value!r} is {what}: it would match every domain registered under it"
        )
    return _CLEAN


def _assess_host(host: str) -> Hygiene:
    """Benign verdicts of a URL's host carry over to the URL; a bad host does not reject it."""
    if ":" in host or host.replace(".", "").isdigit():
        reason = _special_ip(host)
    else:
        reason = _reserved_domain(host)
    return Hygiene(benign_reason=f"its host: {reason}") if reason else _CLEAN


def _assess_url(value: str) -> Hygiene:
    host = url_host(value)
    if host is None:
        return Hygiene(rejected_reason="a URL without a host cannot be matched against traffic")
    try:
        return _assess_host(host)
    except (OSError, ValueError):  # an odd host is the matcher's problem, not a hygiene verdict
        return _CLEAN


def _assess_email(value: str) -> Hygiene:
    domain = email_domain(value)
    if domain is None:
        return Hygiene(rejected_reason="an e-mail address without a domain")
    reserved = _reserved_domain(domain)
    if reserved is not None:
        return Hygiene(benign_reason=f"its domain: {reserved}")
    if is_public_suffix(domain):
        return Hygiene(
            rejected_reason=f"{domain!r} is not a registrable domain, so no mailbox can exist there"
        )
    return _CLEAN


# --- file system and the rest -----------------------------------------------------------------

_WILDCARD_ONLY = re.compile(r"[*?]*(?:\.[*?]*|\.[a-z0-9]{1,5})?")


def _assess_file_name(value: str) -> Hygiene:
    if _WILDCARD_ONLY.fullmatch(value) and ("*" in value or "?" in value):
        return Hygiene(rejected_reason=f"{value!r} is wildcards only and would match every file")
    if "*" in value or "?" in value:
        return Hygiene(
            rejected_reason="file names are matched exactly and this one has wildcards; "
            "write it as a path_regex instead"
        )
    if len(value) < 3:
        return Hygiene(rejected_reason=f"a {len(value)}-character file name is too generic")
    return _CLEAN


def _too_short(what: str) -> Callable[[str], Hygiene]:
    def assess_length(value: str) -> Hygiene:
        if len(value) < 3:
            return Hygiene(rejected_reason=f"a {len(value)}-character {what} is too generic")
        return _CLEAN

    return assess_length


def _assess_file_path(value: str) -> Hygiene:
    if re.fullmatch(r"[a-z]:\\?|%[^%\\]+%\\?|\\\\[^\\]+(?:\\[^\\]+)?\\?|/", value):
        return Hygiene(rejected_reason=f"{value!r} is a drive, share or variable root")
    return _too_short("path")(value)


def _assess_path_regex(value: str) -> Hygiene:
    if len(value) < 3:
        return Hygiene(rejected_reason=f"a {len(value)}-character regex is too generic")
    try:
        matches_nothing = re.compile(value).search("") is not None
    except re.error:
        return Hygiene(rejected_reason="not a valid regular expression")
    if matches_nothing:
        return Hygiene(rejected_reason="the regex matches the empty string, so every path")
    return _CLEAN


def _assess_registry(value: str) -> Hygiene:
    if "\\" not in value:
        return Hygiene(rejected_reason=f"{value} is a whole hive, not a key")
    return _CLEAN


def _assess_hash(value: str) -> Hygiene:
    if value in EMPTY_FILE_HASHES:
        return Hygiene(benign_reason="the hash of the empty (zero-byte) file")
    return _CLEAN


def _nothing_to_say(value: str) -> Hygiene:
    return _CLEAN


_ASSESSORS: dict[IndicatorType, Callable[[str], Hygiene]] = {
    IndicatorType.MD5: _assess_hash,
    IndicatorType.SHA1: _assess_hash,
    IndicatorType.SHA256: _assess_hash,
    IndicatorType.SHA512: _assess_hash,
    IndicatorType.SSDEEP: _nothing_to_say,
    IndicatorType.FILE_NAME: _assess_file_name,
    IndicatorType.FILE_PATH: _assess_file_path,
    IndicatorType.PATH_REGEX: _assess_path_regex,
    IndicatorType.DOMAIN: _assess_domain,
    IndicatorType.IPV4: _assess_ip,
    IndicatorType.IPV6: _assess_ip,
    IndicatorType.CIDR: _assess_cidr,
    IndicatorType.URL: _assess_url,
    IndicatorType.EMAIL: _assess_email,
    IndicatorType.EMAIL_SUBJECT: _too_short("e-mail subject"),
    IndicatorType.MUTEX: _too_short("mutex name"),
    IndicatorType.REGISTRY: _assess_registry,
    IndicatorType.CVE: _nothing_to_say,
}


# The reservations an exercise or a test feed uses on purpose (``intel import --exercise``):
# documentation and testing names and addresses. Private, loopback and other special values stay
# benign even then: no exercise makes 127.0.0.1 an attacker's address.
EXERCISE_RESERVATIONS = (
    "(RFC 5737)",
    "(RFC 3849)",
    "reserved for documentation (RFC 2606)",
    "reserved for testing (RFC 2606)",
)


def assess(type: IndicatorType, value: str, *, exercise: bool = False) -> Hygiene:
    """Judge a value already passed through :func:`seawall.intel.normalize.normalise`.

    Rejections are checked before benign verdicts for networks (``0.0.0.0/0`` is over-generic
    before it is "unspecified"), and reserved names before public suffixes (``localhost`` is a
    benign name, not a bare TLD). With ``exercise`` (intel written for an exercise or a test),
    documentation and testing names and addresses are kept as live indicators.
    """
    verdict = _ASSESSORS[type](value)
    reason = verdict.benign_reason
    if exercise and reason and any(mark in reason for mark in EXERCISE_RESERVATIONS):
        return _CLEAN
    return verdict
