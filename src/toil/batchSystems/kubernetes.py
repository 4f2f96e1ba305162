"""Toil's ``toil.batchSystems.kubernetes``: the Kubernetes batch system."""

from toil.runtime.batch import ToilConstructor
from toil.runtime.batch.remote.kubernetes.system import KubernetesBatchSystem as _Kubernetes


class KubernetesBatchSystem(ToilConstructor, _Kubernetes):
    """kubernetes, built with a context or, in a subclass written for Toil, with Toil's arguments."""


__all__ = ["KubernetesBatchSystem"]
