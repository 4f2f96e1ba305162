"""Toil's ``toil.jobStores`` import paths."""
