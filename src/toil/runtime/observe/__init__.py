"""Observing a run, read-only: the leader's monitor and its sinks (status file, metrics, progress bar), status,
stats, job logs."""
