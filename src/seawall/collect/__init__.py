"""Evidence readers: each turns one kind of evidence into rows of one case table.

Readers never crash on one bad record: problems become warnings with their location.
"""
