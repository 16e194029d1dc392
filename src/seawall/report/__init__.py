"""Renderers of the result document: a self-contained HTML report, an ATT&CK Navigator layer and
a STIX 2.1 bundle of sightings.

Every renderer reads only :class:`seawall.model.finding.ResultDocument`, through
:mod:`seawall.report.view`, the one module that knows the document's field names.
"""
