"""Small helpers at Toil's ``toil.lib`` import paths."""
