"""Toil's ``toil.batchSystems.mesos``: the Mesos batch system (its class in ``batchSystem``)."""
