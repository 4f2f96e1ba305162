"""A stand-in for a Mesos master and its agents (no Mesos can be installed here): see master.py and agent.py."""
