"""Threat intel: readers for every format, normalisation, hygiene, the store, reputation, ATT&CK."""
