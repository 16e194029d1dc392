"""Renderers of the result document, for ``seawall report``: JSON, JSON lines and CSV of findings
and incidents, a self-contained HTML report, an ATT&CK Navigator layer and a STIX 2.1 bundle of
sightings (:mod:`seawall.report.formats` dispatches them).

Every renderer reads only :class:`seawall.model.finding.ResultDocument`, as a hunt stored it with
the case's current triage joined in; the HTML, Navigator and STIX renderers read it through
:mod:`seawall.report.view`, the one module of theirs that knows the document's field names.
"""
