"""Alternations searched with only the alternatives that can match in a given text.

The web-shell assessor searches whole files for large ``a|b|c`` patterns (sinks, callbacks,
file operations, uploader markers). Most alternatives need a literal word that most files lack,
so testing the words first and searching a regex of the present alternatives alone finds the
same matches several times faster. Pure functions of the text; the caches are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

Literal = str | re.Pattern[str]
# Literal tests already made on the last texts examined (the file, without comments, normalised):
# several alternations share literals ("exec", "system", "fopen"...).
_PRESENCE: list[tuple[str, dict[Literal, bool]]] = []


def _presence_in(text: str) -> dict[Literal, bool]:
    for seen, known in _PRESENCE:
        if seen is text:
            return known
    known = {}
    _PRESENCE.insert(0, (text, known))
    del _PRESENCE[4:]
    return known


class Alternation:
    r"""A regex ``a|b|c|...`` whose every alternative needs a literal substring to match.

    Searching a file with only the alternatives whose literal occurs in it finds exactly the same
    matches (an alternative whose literal is absent can never match, and dropping it does not
    change which alternative wins at any position), but the engine then tries the pattern at far
    fewer places: sink and callback names start with common letters (e, a, c, s, p...), so the
    full alternation is attempted at about every other character of a file. ``in`` tests on the
    literals are much cheaper than that. Use :meth:`on` with the string that will be searched (or
    a string containing it). A "literal" may also be a regex with a literal prefix and no
    look-around, anchor or ``\b`` (so that it matches wherever the alternative does, in any slice
    of the text): ``new\s+function`` is rare where "function" is everywhere.
    """

    def __init__(self, alternatives: Sequence[tuple[Literal, str]]) -> None:
        self.alternatives = tuple(alternatives)
        self.full = re.compile("|".join(rx for _, rx in self.alternatives))
        # Each literal is tested only when the shortest other literal it contains is present
        # ("shell_exec" is absent from any text without "exec"): fewer scans of the text.
        words = sorted({lit for lit, _ in self.alternatives if isinstance(lit, str)}, key=len)
        self._tests: tuple[tuple[Literal, str | None], ...] = (
            *((w, next((o for o in words if len(o) < len(w) and o in w), None)) for w in words),
            *((lit, None) for lit, _ in self.alternatives if not isinstance(lit, str)),
        )
        self._by_present: dict[frozenset[Literal], re.Pattern[str] | None] = {}
        self._last: tuple[str, re.Pattern[str] | None] = ("\0", None)

    def on(self, text: str) -> re.Pattern[str] | None:
        """The alternation reduced to what can match in ``text`` (None: nothing can)."""
        last_text, last = self._last
        if last_text is text:  # passes ask again about the same text
            return last
        known = _presence_in(text)
        present: set[Literal] = set()
        for lit, inside in self._tests:
            if inside is not None and inside not in present:
                continue
            found = known.get(lit)
            if found is None:
                found = known[lit] = bool(lit in text if isinstance(lit, str) else lit.search(text))
            if found:
                present.add(lit)
        key = frozenset(present)
        try:
            pattern = self._by_present[key]
        except KeyError:  # (a local, not a second lookup: another thread may clear the cache)
            alts = [rx for lit, rx in self.alternatives if lit in key]
            pattern = re.compile("|".join(alts)) if alts else None
            if len(self._by_present) > 512:
                self._by_present.clear()
            self._by_present[key] = pattern
        self._last = (text, pattern)
        return pattern

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Same as ``self.full.finditer(text)``."""
        pattern = self.on(text)
        return pattern.finditer(text) if pattern is not None else iter(())

    def search(self, text: str) -> re.Match[str] | None:
        """Same as ``self.full.search(text)``."""
        pattern = self.on(text)
        return pattern.search(text) if pattern is not None else None


def each(names: str, tail: str) -> list[tuple[Literal, str]]:
    """``a<tail>|b<tail>|...`` as (literal, alternative) pairs for :class:`Alternation`: every
    alternative starts with a literal, so the regex engine can skip ahead on first characters
    (several times faster than ``(?:a|b)<tail>``)."""
    return [(name, name + tail) for name in names.split()]
