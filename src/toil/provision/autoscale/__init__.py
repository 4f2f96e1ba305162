"""The autoscaler: a pure policy (policy.py) over serialisable state (state.py), a thin driver, a simulator."""
