"""Toil's workflow options: the one option table (common) and the parsers built from it."""
