"""Sigma rules in a hunt (``seawall hunt --sigma DIR``).

- :mod:`.rules` loads rule files with pySigma and the Sysmon/Windows pipelines (:mod:`.logsource`
  says which), compiles each rule's detection to a plain tree (:mod:`.compile`, :mod:`.ir`) or
  the reason it cannot run, and caches the result by rule-file SHA-256 with the tree's
  :mod:`.facts` (fields, plain tests, needs);
- :mod:`.sql` renders a tree as portable SQL over ``events`` (DuckDB; transpiles to Spark);
- :mod:`.execute` reads the events once, a slice at a time; :mod:`.index` answers every rule's
  plain tests together and names the few rules a slice can make hold; :mod:`.vector` evaluates
  those trees column-wise, with the SQL's semantics;
- :mod:`.hunt` turns matches into coverage entries and findings for the engine.
"""
