"""A cluster's worker instances for the autoscaler: list them, start more like the ones there, terminate them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any

import botocore.exceptions

from toil.provision.aws.clients import AwsClients, error_code
from toil.provision.aws.launch import METADATA_OPTIONS
from toil.provision.aws.names import NODE_TYPE_TAG, cluster_filter, tag_dict, tag_list
from toil.provision.spec import NodeType, ProvisionError, WorkerNode

log = logging.getLogger(__name__)

AUTOSCALE_TYPE_TAG = "ToilAutoscaleNodeType"  # the --nodeTypes entry an autoscaled worker was started as
# no capacity (or no spot capacity at the bid) for a type: try the next interchangeable one, else start fewer
_SHORT = {"InsufficientInstanceCapacity", "InstanceLimitExceeded", "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded"}


class AwsWorkers:
    """The workers of one cluster, found by its tags."""

    def __init__(self, aws: AwsClients, cluster: str) -> None:
        self.aws, self.cluster = aws, cluster

    def instances(self, *extra: dict[str, Any], states: tuple[str, ...] = ("pending", "running")) -> list[Any]:
        """The cluster's instances in these states (workers unless ``extra`` says otherwise)."""
        filters = [
            *cluster_filter(self.cluster),
            {"Name": "instance-state-name", "Values": list(states)},
            *(extra or ({"Name": f"tag:{NODE_TYPE_TAG}", "Values": ["worker"]},)),
        ]
        pages = self.aws.ec2.get_paginator("describe_instances").paginate(Filters=filters)
        return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

    def nodes(self) -> list[WorkerNode]:
        """The workers, each with the node type it was started as (its instance type if not autoscaled)."""
        found = []
        for instance in self.instances():
            tags = tag_dict(instance.get("Tags"))
            launched = instance.get("LaunchTime")
            found.append(
                WorkerNode(
                    instance["InstanceId"],
                    tags.get(AUTOSCALE_TYPE_TAG) or instance["InstanceType"],
                    instance.get("InstanceLifecycle") == "spot",
                    instance.get("PrivateIpAddress", ""),
                    launched.timestamp() if launched is not None else 0.0,
                )
            )
        return found

    def add(self, node_type: NodeType, count: int) -> list[WorkerNode]:
        """Start workers made like an existing one (image, groups, role, subnet, bootstrap); spot at the bid."""
        model = self._model()
        request = self._request(model, node_type)
        started: list[Any] = []
        for instance_type in node_type.instance_types:
            try:
                wanted = count - len(started)
                made = self.aws.ec2.run_instances(
                    **request, InstanceType=instance_type, MinCount=wanted, MaxCount=wanted
                )["Instances"]
            except botocore.exceptions.ClientError as e:
                if error_code(e) not in _SHORT:
                    raise
                log.warning("no capacity for %s in cluster %s: %s", instance_type, self.cluster, error_code(e))
                continue
            started += made
            if len(started) >= count:
                break
        return [
            WorkerNode(i["InstanceId"], str(node_type), node_type.preemptible, i.get("PrivateIpAddress", ""))
            for i in started
        ]

    def terminate(self, names: Sequence[str]) -> None:
        """Terminate those of the named instances that are this cluster's workers; any other id is left alone."""
        if not names:
            return
        ours = [i["InstanceId"] for i in self.instances() if i["InstanceId"] in set(names)]
        if ours:
            self.aws.ec2.terminate_instances(InstanceIds=ours)
        for name in sorted(set(names) - set(ours)):
            log.warning("not terminating %s: it is not a running worker of cluster %s", name, self.cluster)

    def _model(self) -> Any:
        """A worker to copy (the newest), else ProvisionError: a worker's bootstrap holds how it joins."""
        workers = self.instances(states=("pending", "running", "stopped"))
        if not workers:
            raise ProvisionError(
                f"cluster {self.cluster} has no worker to model new ones on: launch it with workers "
                "(launch-cluster --nodeTypes T -w 1-N)"
            )
        return max(workers, key=lambda i: i["LaunchTime"])

    def _request(self, model: Any, node_type: NodeType) -> dict[str, Any]:
        """run_instances arguments shared by every instance type of the node type."""
        user_data = self.aws.ec2.describe_instance_attribute(InstanceId=model["InstanceId"], Attribute="userData")
        encoded = user_data.get("UserData", {}).get("Value", "")
        tags = {k: v for k, v in tag_dict(model.get("Tags")).items() if not k.startswith("aws:")}
        tags[AUTOSCALE_TYPE_TAG] = str(node_type)
        request: dict[str, Any] = {
            "ImageId": model["ImageId"],
            "SecurityGroupIds": [g["GroupId"] for g in model.get("SecurityGroups", [])],
            "UserData": base64.b64decode(encoded).decode() if encoded else "",
            "MetadataOptions": METADATA_OPTIONS,
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tag_list(tags)},
                {"ResourceType": "volume", "Tags": tag_list(tags)},
            ],
        }
        for key, value in (("KeyName", model.get("KeyName")), ("SubnetId", model.get("SubnetId"))):
            if value:
                request[key] = value
        if model.get("IamInstanceProfile"):
            request["IamInstanceProfile"] = {"Arn": model["IamInstanceProfile"]["Arn"]}
        if node_type.spot_bid is not None:
            request["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {"MaxPrice": str(node_type.spot_bid), "SpotInstanceType": "one-time"},
            }
        return request
