"""Content features a collector extracts from evidence bytes while they are at hand.

Hashes, file type, PE metadata and signature, web-shell assessments (and YARA matches): extracted
once at collect time and stored in the case, as capa extracts features once and matches rules
later, so a hunt runs on the case alone. Pure functions of bytes (plus the file name where a
feature needs it); nothing here writes to the case or imports the detection side.
"""
