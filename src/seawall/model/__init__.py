"""Typed value objects shared by every stage."""
