"""A hunt's rules indexed by their plain tests: which rules a slice of events can make hold.

Built once per hunt from the rules' cached :class:`~seawall.detect.sigma.facts.Facts`, before
any event is read:

- every plain test of every rule gets one id (hundreds of rules test ``Image`` ends with
  ``\\powershell.exe``: one test), and the tests of each column are answered together by a
  :class:`Matcher`: one dictionary lookup (equals) and one Aho-Corasick pass (contains, starts,
  ends) per distinct value of the column, for all the hunt's literals at once;
- each rule's needs (groups of tests of which it needs one to hold) become test ids, and each
  rule *watches* one of its needs: a slice's candidates are the rules watching a test that
  matched some value of it, checked against their other needs. Rules are never looked at one
  by one where nothing they need is present (2,500 rules, a few dozen candidates a slice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ahocorasick
import numpy as np

from seawall.detect.sigma.facts import Column, parse_test_key

Test = tuple[str, bool, str, str]
"""(column name in the slice, cased, test, literal): one plain test of the hunt."""
Found = dict[int, np.ndarray[Any, np.dtype[np.bool_]]]
"""Test id -> a boolean per distinct value of its column (only tests that matched a value)."""


class Matcher:
    """Every plain test of one column (lower-cased values unless ``cased``) at once."""

    def __init__(self, tests: Iterable[tuple[int, str, str]]) -> None:
        """``tests``: (test id, test, literal)."""
        self.equals: dict[str, list[int]] = {}
        searched: dict[str, list[int]] = {}
        slot = {"contains": 1, "starts": 2, "ends": 3}
        for number, kind, literal in tests:
            if kind == "equals":
                self.equals.setdefault(literal, []).append(number)
            else:
                # (last index of the literal, contains id, starts id, ends id); -1: no such test
                found = searched.setdefault(literal, [len(literal) - 1, -1, -1, -1])
                found[slot[kind]] = number
        self.automaton: Any = None
        if searched:
            self.automaton = ahocorasick.Automaton()
            for literal, plan in searched.items():
                self.automaton.add_word(literal, tuple(plan))
            self.automaton.make_automaton()

    def run(self, values: Sequence[str | None]) -> Found:
        """Which tests each value passes (values may repeat: each index counts)."""
        hits: dict[int, list[int]] = defaultdict(list)
        equals = self.equals
        automaton = self.automaton
        for index, value in enumerate(values):
            if not value:
                continue  # None, or '' (no plain test has an empty literal)
            numbers = equals.get(value)
            if numbers is not None:
                for number in numbers:
                    hits[number].append(index)
            if automaton is None:
                continue
            last = len(value) - 1
            for end, (length, contains, starts, ends) in automaton.iter(value):
                if contains >= 0:
                    hits[contains].append(index)
                if starts >= 0 and end == length:
                    hits[starts].append(index)
                if ends >= 0 and end == last:
                    hits[ends].append(index)
        found: Found = {}
        for number, indices in hits.items():
            passed = np.zeros(len(values), np.bool_)
            passed[indices] = True
            found[number] = passed
        return found


class RuleIndex:
    """The plain tests of a hunt's rules by id, their matchers, and the rules' needs.

    ``variants`` are (number, facts) of the hunt's jobs; ``names`` maps each column a rule
    reads to its column in the slices (a field's raw and lower-cased uses share one)."""

    def __init__(self, variants: Iterable[tuple[int, Any]], names: Mapping[Column, str]) -> None:
        self.tests: list[Test] = []
        self.number: dict[Test, int] = {}
        self._by_key: dict[str, int] = {}
        self.needs: dict[int, tuple[tuple[int, ...], ...]] = {}
        self.local: dict[int, list[int]] = {}  # each job's plain tests (its facts') as ids
        self.watchers: dict[int, list[int]] = defaultdict(list)
        self.always: list[int] = []
        self._names = names
        self._matchers: dict[tuple[str, bool], Matcher] = {}
        for job, facts in variants:
            local = self.local[job] = [self.test_id(key) for key in facts.tests]
            needs = tuple(tuple(local[i] for i in need) for need in facts.needs)
            self.needs[job] = needs
            if not needs:
                self.always.append(job)
                continue
            for number in min(needs, key=self._rarity):
                self.watchers[number].append(job)
        self.columns: dict[tuple[str, bool], list[int]] = defaultdict(list)
        for number, (name, cased, _, _) in enumerate(self.tests):
            self.columns[(name, cased)].append(number)

    def test_id(self, key: str) -> int:
        """The id of a plain test given by its key (:func:`~.facts.test_key`)."""
        number = self._by_key.get(key)
        if number is None:
            column, cased, kind, literal = parse_test_key(key)
            test = (self._names[column], cased, kind, literal)
            number = self.number.get(test)
            if number is None:
                number = self.number[test] = len(self.tests)
                self.tests.append(test)
            self._by_key[key] = number
        return number

    def _rarity(self, need: tuple[int, ...]) -> tuple[int, int]:
        """Watch the need least likely to match: the fewest tests, the longest literals."""
        return len(need), -min(len(self.tests[n][3]) for n in need)

    def matcher(self, name: str, cased: bool) -> Matcher:
        found = self._matchers.get((name, cased))
        if found is None:
            tests = ((n, self.tests[n][2], self.tests[n][3]) for n in self.columns[(name, cased)])
            found = self._matchers[(name, cased)] = Matcher(tests)
        return found

    def candidates(self, found: Mapping[int, Any]) -> list[int]:
        """The jobs each of whose needs has a test in ``found``, in job order."""
        seen: set[int] = set()
        for number in found:
            seen.update(self.watchers.get(number, ()))
        chosen = [
            job for job in seen if all(any(n in found for n in need) for need in self.needs[job])
        ]
        return sorted([*chosen, *self.always])
