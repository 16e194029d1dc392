"""Renderers of the result document: JSON, JSON lines and CSV of findings and incidents
(:mod:`seawall.report.formats`), for ``seawall report``.

Every renderer reads only :class:`seawall.model.finding.ResultDocument`, as a hunt stored it
with the case's current triage joined in.
"""
