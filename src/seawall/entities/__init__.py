"""Entities: the hosts, addresses and accounts the evidence names, and the links between them.

Findings name a host the way their evidence does: an event's computer
(``WEB01.tidewater.example``), a sweep's ``--host`` as the user typed it, a flow's client
address (``10.20.0.10``), an account as ``TIDEWATER\\d.tan``, ``d.tan@tidewater.example`` or
``d.tan``. Correlation needs to know that these are one machine and one person. The entity
tables (:mod:`seawall.model.tables`: ``hosts``, ``host_addresses``, ``accounts``, ``links``) are
filled at collect time from the rows each run wrote (:mod:`seawall.entities.derive`, called by
the ingest's last transaction: readers know nothing of it), and read at hunt time by
:mod:`seawall.entities.resolve`, which says for every identification whether it was given or
inferred, and from which observation.
"""
