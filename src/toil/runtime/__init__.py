"""The runtime: leader, scheduling state machine, job stores, workers, batch systems."""
