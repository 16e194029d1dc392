"""How host names, addresses and accounts are normalised, in Python and in SQL alike.

The same rules run twice: in SQL when a run's rows become entity observations
(:mod:`seawall.entities.derive`, macros :data:`MACROS`), and in Python when a finding's host or
user is looked up (:mod:`seawall.entities.resolve`). A test checks that both give the same
answers on the same inputs.

- **Host names**: lower case, no surrounding space, no leading ``\\\\`` (a UNC or NTLM
  workstation name), no trailing dot. ``-``, ``localhost``, addresses and anything with a space,
  slash, backslash, colon or ``@`` are not host names. The first label is the short (NetBIOS)
  name, the rest the DNS domain: ``web01.tidewater.example`` is ``web01`` in
  ``tidewater.example``; both spellings are kept and linked by the short name.
- **Addresses**: IPv4 or IPv6 as :mod:`ipaddress` writes them (an IPv4-mapped IPv6 address is
  the IPv4 address, a zone index and brackets are dropped); loopback and unspecified addresses
  identify no host and are dropped. SQL gets IPv4 exactly so; an IPv6 address is kept lower-case
  as written (its rare non-canonical spellings stay distinct).
- **Accounts**: ``DOMAIN\\name``, ``name@domain`` (a UPN, or Kerberos' ``name@REALM``) and a bare
  ``name`` give a lower-case name and domain; ``name@domain`` with a dotted domain is also the
  UPN.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

_NOT_NAMES = frozenset({"", "-", "localhost", "localhost.localdomain", "null", "unknown"})
_BAD_NAME = re.compile(r"[\s/\\:@,;]")
_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
# Domains of accounts that exist on every Windows machine on their own (the machine's services,
# application pools, window manager sessions): the same name on two hosts is two accounts.
LOCAL_DOMAINS = frozenset(
    {
        "nt authority",
        "nt service",
        "iis apppool",
        "window manager",
        "font driver host",
        "builtin",
        "nt virtual machine",
        "autorité nt",
        "nt-autorität",
    }
)
# SIDs of such accounts (SYSTEM, LOCAL SERVICE, NETWORK SERVICE, ANONYMOUS LOGON).
LOCAL_SIDS = frozenset({"s-1-5-18", "s-1-5-19", "s-1-5-20", "s-1-5-7"})
LOCAL_NAMES = frozenset(
    {"system", "local service", "network service", "anonymous logon", "localsystem", "-"}
)


def host_name(text: str | None) -> str | None:
    """A host name as the entity tables keep it, or None when ``text`` names no host."""
    if text is None:
        return None
    name = text.strip().lstrip("\\").strip().lower().rstrip(".")
    if name in _NOT_NAMES or _BAD_NAME.search(name) or _DOTTED_NUMBERS.fullmatch(name):
        return None
    return name


def short_name(name: str) -> str:
    return name.split(".", 1)[0]


def domain_of(name: str) -> str | None:
    return name.split(".", 1)[1] if "." in name else None


@lru_cache(maxsize=1 << 14)
def address(text: str | None) -> str | None:
    """An address as the entity tables keep it, or None (not an address, loopback, unspecified)."""
    if text is None:
        return None
    value = text.strip().strip("[]").split("%", 1)[0]
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    if found.is_loopback or found.is_unspecified:
        return None
    return str(found)


def is_private(value: str) -> bool:
    """Whether an address is private, link-local or otherwise not routed on the internet
    (documentation ranges count as public: exercises use them for the internet)."""
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        return False
    if isinstance(found, ipaddress.IPv4Address):
        documentation = any(
            found in ipaddress.ip_network(n)
            for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
        )
        return (found.is_private or found.is_link_local) and not documentation
    return found.is_private or found.is_link_local


@dataclass(frozen=True, slots=True)
class AccountName:
    """An account as written: ``name`` and ``domain`` lower-case (domain None when not said),
    ``upn`` when it was written ``name@dotted.domain``."""

    name: str
    domain: str | None = None
    upn: str | None = None

    @property
    def key(self) -> str:
        """``domain\\name`` (``name`` alone when the domain is not known): the ``account``
        column of ``links``."""
        return f"{self.domain}\\{self.name}" if self.domain else self.name

    @property
    def local(self) -> bool:
        """A machine's own account (SYSTEM, an application pool…): no link between hosts."""
        return self.domain in LOCAL_DOMAINS or self.name in LOCAL_NAMES


def account(text: str | None, domain: str | None = None) -> AccountName | None:
    """Parse ``DOMAIN\\name``, ``name@domain`` or ``name`` (with ``domain`` as the event gives
    it apart); None when no account is named."""
    if text is None:
        return None
    raw = text.strip()
    given = (domain or "").strip().lower() or None
    if given == "-":
        given = None
    upn: str | None = None
    if "\\" in raw:
        head, _, raw = raw.rpartition("\\")
        given = head.strip().lower() or given
    elif "@" in raw:
        raw, _, tail = raw.partition("@")
        tail = tail.strip().lower()
        if tail:
            given = tail
            if "." in tail:
                upn = f"{raw.strip().lower()}@{tail}"
    name = raw.strip().lower()
    if name in ("", "-"):
        return None
    return AccountName(name, given, upn)


# -- SQL ----------------------------------------------------------------------------------------

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"{_OCTET}(\.{_OCTET}){{3}}"
# A SQL regular expression (quoted) for addresses that :func:`is_private` may accept: private
# and link-local ranges (a prefilter: Python's check still decides, e.g. on documentation ranges).
PRIVATE_ADDRESS_SQL = (
    r"'^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|169\.254\.|f[cd][0-9a-f]{2}:|fe80:)'"
)

# Temporary macros (per connection, never stored): each uses its argument once, since a macro
# repeats its argument's expression at every use.
MACROS: tuple[str, ...] = (
    r"""CREATE OR REPLACE TEMP MACRO ent_host_(h) AS
        CASE WHEN h IN ('', '-', 'localhost', 'localhost.localdomain', 'null', 'unknown')
               OR regexp_matches(h, '[\s/\\:@,;]') OR regexp_full_match(h, '[0-9.]+')
             THEN NULL ELSE h END""",
    r"""CREATE OR REPLACE TEMP MACRO ent_host(x) AS
        ent_host_(rtrim(lower(trim(ltrim(trim(CAST(x AS VARCHAR)), '\'))), '.'))""",
    r"""CREATE OR REPLACE TEMP MACRO ent_short(n) AS split_part(n, '.', 1)""",
    r"""CREATE OR REPLACE TEMP MACRO ent_domain(n) AS
        nullif(substr(n, strpos(n, '.') + 1), n)""",
    rf"""CREATE OR REPLACE TEMP MACRO ent_ip_(a) AS
        CASE WHEN regexp_full_match(a, '{IPV4_PATTERN}')
                  AND NOT starts_with(a, '127.') AND a <> '0.0.0.0' THEN a
             WHEN regexp_full_match(a, '[0-9a-f]*:[0-9a-f:.]*') AND a NOT IN ('::', '::1')
                  THEN a END""",
    r"""CREATE OR REPLACE TEMP MACRO ent_ip(x) AS
        ent_ip_(regexp_replace(split_part(trim(lower(CAST(x AS VARCHAR)), '[] '), '%', 1),
                               '^::ffff:(\d+\.)', '\1'))""",
    r"""CREATE OR REPLACE TEMP MACRO ent_acct_name(x) AS
        nullif(nullif(lower(trim(regexp_extract(CAST(x AS VARCHAR), '^(?:.*\\)?([^@\\]*)', 1))),
                      ''), '-')""",
    r"""CREATE OR REPLACE TEMP MACRO ent_acct_domain_(t, given) AS coalesce(
        CASE WHEN contains(t, '\') THEN nullif(lower(trim(regexp_extract(t, '^(.*)\\', 1))), '')
             WHEN contains(t, '@') THEN nullif(lower(trim(regexp_extract(t, '@(.*)$', 1))), '')
        END,
        nullif(nullif(lower(trim(given)), ''), '-'))""",
    r"""CREATE OR REPLACE TEMP MACRO ent_acct_domain(x, given) AS
        ent_acct_domain_(trim(CAST(x AS VARCHAR)), given)""",
    r"""CREATE OR REPLACE TEMP MACRO ent_upn_(t) AS
        CASE WHEN regexp_full_match(t, '[^@\\\s]+@[^@\\\s]+\.[^@\\\s]+') THEN t END""",
    r"""CREATE OR REPLACE TEMP MACRO ent_upn(x) AS ent_upn_(lower(trim(CAST(x AS VARCHAR))))""",
    r"""CREATE OR REPLACE TEMP MACRO ent_account(name, domain) AS
        CASE WHEN name IS NOT NULL THEN concat_ws('\', domain, name) END""",
)
