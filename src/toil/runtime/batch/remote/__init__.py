"""Batch systems whose jobs run elsewhere: the remote base (submit, poll by label, cancel, packing) and the HPC
schedulers on it."""
