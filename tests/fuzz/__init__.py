"""The bad-input fuzz suite: ``python -m tests.fuzz.run`` (``make fuzz``); see run.py."""
