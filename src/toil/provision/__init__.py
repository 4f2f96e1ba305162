"""Cluster provisioning (launch-cluster, destroy-cluster): never imported by the runtime.

Providers register here by name; ``provisioner("aws", zone)`` gives one. The autoscaler reaches clusters
through the ``ClusterProvisioner`` interface of ``toil.provision.spec``.
"""

from __future__ import annotations

import importlib

from toil.provision.spec import ClusterProvisioner, ProvisionError

# name -> "module:class"; a provider is imported only when asked for (boto3 is an extra)
PROVISIONERS = {"aws": "toil.provision.aws.provisioner:AWSProvisioner"}


def provisioner(name: str, zone: str) -> ClusterProvisioner:
    """The registered provisioner ``name`` for ``zone``; ProvisionError for an unknown name or a missing extra."""
    if name not in PROVISIONERS:
        raise ProvisionError(f"unknown provisioner {name!r}: choose {', '.join(sorted(PROVISIONERS))}")
    module, _, cls = PROVISIONERS[name].partition(":")
    try:
        found = getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as e:
        raise ProvisionError(f"the {name} provisioner needs {e.name}: pip install 'toil[{name}]'") from None
    made = found(zone)
    assert isinstance(made, ClusterProvisioner)
    return made
