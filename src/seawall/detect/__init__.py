"""Detections as data files (YAML), run as SQL on the case store."""
