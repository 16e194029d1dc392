"""Triage: explain findings away (or not) before a human sees them.

A raw match is not a verdict: AA21-200A's own hashes include legitimate tools, so every hit is
judged here (by location, allowlists, known-good sets and analyst verdicts) with a reason.
"""
