"""Which detections a hunt runs: ``hunt --detection`` ids and glob patterns.

A selector is a detection id (``evtx.admin-commands``, ``sigma.<rule id>``) or a shell-style
pattern (``evtx.*``, ``sigma.*``, ``net.ioc-?*``: ``*``, ``?`` and ``[…]`` as in
:mod:`fnmatch`, case-sensitive like the ids). The shipped detections and the Sigma rules of
``--sigma`` are selected alike, so ``--detection 'sigma.*'`` runs the Sigma rules alone (what
Zircolite or Chainsaw run) and ``--detection 'evtx.*'`` the shipped event-log detections alone.
A selector that names nothing is a usage error: a typo must never turn into a silently smaller
hunt.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from fnmatch import fnmatchcase

from seawall.errors import UsageError

SIGMA_PREFIX = "sigma."
_GLOB = frozenset("*?[")


def is_pattern(selector: str) -> bool:
    return any(c in _GLOB for c in selector)


def matches(selector: str, ident: str) -> bool:
    return fnmatchcase(ident, selector) if is_pattern(selector) else ident == selector


def named(selector: str, ids: Iterable[str]) -> list[str]:
    """The ids the selector names, in their order."""
    return [ident for ident in ids if matches(selector, ident)]


def wanted(selectors: Sequence[str], ident: str) -> bool:
    """Whether a hunt given ``selectors`` runs ``ident`` (no selector: everything runs)."""
    return not selectors or any(matches(s, ident) for s in selectors)


def may_name_sigma(selector: str) -> bool:
    """Whether the selector may name a Sigma rule, known only once the rules are loaded."""
    return is_pattern(selector) or selector.startswith(SIGMA_PREFIX)


def check(selectors: Sequence[str], ids: Collection[str], sigma_given: bool) -> None:
    """A usage error naming the selectors that name no detection (shipped, the user's
    ``--detections`` or a Sigma rule of ``--sigma``)."""
    for selector in selectors:
        if any(matches(selector, ident) for ident in ids):
            continue
        if selector.startswith(SIGMA_PREFIX) and not sigma_given:
            raise UsageError(
                f"--detection {selector}: Sigma rules run only with --sigma DIR (none given)"
            )
        what = "matches no detection" if is_pattern(selector) else "names no detection"
        raise UsageError(f"--detection {selector} {what}")
