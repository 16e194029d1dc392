"""Sigma rules in a hunt (``seawall hunt --sigma DIR``).

- :mod:`.rules` loads rule files with pySigma and the Sysmon/Windows pipelines (:mod:`.logsource`
  says which), compiles each rule's detection to a plain tree (:mod:`.compile`, :mod:`.ir`) or
  the reason it cannot run, and caches the result by rule-file SHA-256;
- :mod:`.sql` renders a tree as portable SQL over ``events`` (DuckDB; transpiles to Spark);
- :mod:`.execute` reads each kind of event once and :mod:`.vector` evaluates the trees over it
  column-wise, with the SQL's semantics;
- :mod:`.hunt` turns matches into coverage entries and findings for the engine.
"""
