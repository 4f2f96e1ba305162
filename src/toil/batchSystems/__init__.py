"""Toil's ``toil.batchSystems`` import paths."""
