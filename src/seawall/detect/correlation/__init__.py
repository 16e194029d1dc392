"""Correlation: a detection kind that reads the hunt's findings and makes incidents.

A detection file with a ``correlation:`` block (:mod:`.schema`) runs after every other detection
of the hunt (:func:`seawall.detect.engine.hunt`). It reads the findings left to review, the
case's entities (:mod:`seawall.entities.resolve`: which names are one host, which spellings one
account) and evidence where it must (the logons that explain a service install's source, the
prevalence of a value), groups the findings (:mod:`.group`) and makes each group an
:class:`~seawall.model.finding.Incident` (:mod:`.story`): its findings in time order and by
ATT&CK tactic, how its hosts were identified, the edges that join its parts, and a score whose
every component is a reason (:mod:`.score`).
"""
