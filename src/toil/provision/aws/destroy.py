"""Removing a cluster from AWS: leader first, then everything else carrying its tag or its name.

Each step finds its resources afresh (by the clusterName tag, or by name and tag), so a second run, or a
run after a launch that failed half way, finishes the job; a resource without this cluster's tag is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import botocore.exceptions

from toil.provision.aws.bucket import delete_bucket
from toil.provision.aws.clients import AwsClients, describe, error_code, retry_on, wait_until
from toil.provision.aws.names import CLUSTER_TAG, NODE_TYPE_TAG, cluster_filter, is_ours, role_name
from toil.provision.spec import DestroyReport, ProvisionError

log = logging.getLogger(__name__)
_LIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass(frozen=True)
class DestroyLimits:
    """How long each wait of a destroy may last, in seconds."""

    terminated: float = 600.0  # instances shutting-down -> terminated
    dependencies: float = 300.0  # a security group still in use by terminating instances' interfaces


class AwsDestroy:
    """One destroy of one cluster."""

    def __init__(self, clients: AwsClients, cluster: str, limits: DestroyLimits) -> None:
        self.aws, self.cluster, self.limits = clients, cluster, limits
        self.report = DestroyReport()
        self.failures: list[str] = []
        self.spot_instance_ids: set[str] = set()  # what the cluster's spot requests started

    def run(self) -> DestroyReport:
        """Every step, each even if an earlier one failed; ProvisionError naming the first failure at the end."""
        group_ids = self._security_group_ids()
        self._step("terminating the leader", self._terminate_leader)
        self._step("deleting auto-scaling groups", self._delete_scaling_groups)
        self._step("cancelling spot requests", self._cancel_spot_requests)
        self._step("terminating the workers", lambda: self._terminate_instances(group_ids))
        self._step("deleting launch templates", self._delete_launch_templates)
        self._step("deleting left-over volumes", self._delete_volumes)
        self._step("deleting the IAM role and instance profile", self._delete_role)
        self._step("deleting the security group", lambda: self._delete_security_groups(group_ids))
        self._step("deleting the cluster's bucket", self._delete_bucket)
        if self.failures:
            raise ProvisionError(
                f"destroy-cluster {self.cluster} did not finish: {self.failures[0]}"
                + (f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else "")
                + "; run it again to finish"
            )
        return self.report

    def _step(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, ProvisionError) as e:
            log.warning("%s failed: %s", what, describe(e))
            self.failures.append(f"{what}: {describe(e)}")

    # -- instances --------------------------------------------------------------------------------------
    def _instances(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        paginator = self.aws.ec2.get_paginator("describe_instances")
        live = {"Name": "instance-state-name", "Values": _LIVE}
        return [
            i
            for page in paginator.paginate(Filters=[*filters, live])
            for r in page["Reservations"]
            for i in r["Instances"]
        ]

    def _terminate_leader(self) -> None:
        leaders = self._instances(
            [*cluster_filter(self.cluster), {"Name": f"tag:{NODE_TYPE_TAG}", "Values": ["leader"]}]
        )
        # the leader goes first so that its autoscaler cannot start workers while they are being removed
        self._terminate([i["InstanceId"] for i in leaders])

    def _terminate_instances(self, group_ids: list[str]) -> None:
        found = {i["InstanceId"] for i in self._instances(cluster_filter(self.cluster))}
        # instances whose tags were never written (a spot request's, tagged only once it is fulfilled) are
        # found through the cluster's spot requests, and through its security group
        if self.spot_instance_ids:
            by_request = [{"Name": "instance-id", "Values": sorted(self.spot_instance_ids)}]
            found |= {i["InstanceId"] for i in self._instances(by_request)}
        if group_ids:
            found |= {i["InstanceId"] for i in self._instances([{"Name": "instance.group-id", "Values": group_ids}])}
        self._terminate(sorted(found - set(self.report.removed.get("instance", []))))
        all_ids = self.report.removed.get("instance", [])  # the leader's too
        if all_ids:
            self._wait_terminated(all_ids)

    def _terminate(self, ids: list[str]) -> None:
        if not ids:
            return
        self.aws.ec2.terminate_instances(InstanceIds=ids)
        for i in ids:
            self.report.add("instance", i)

    def _wait_terminated(self, ids: list[str]) -> None:
        def terminated() -> bool:
            paginator = self.aws.ec2.get_paginator("describe_instances")
            pages = paginator.paginate(InstanceIds=ids)
            return all(
                i["State"]["Name"] == "terminated" for p in pages for r in p["Reservations"] for i in r["Instances"]
            )

        wait_until(f"{len(ids)} instance(s) to terminate", terminated, self.limits.terminated)

    def _cancel_spot_requests(self) -> None:
        found = self.aws.ec2.describe_spot_instance_requests(Filters=cluster_filter(self.cluster))
        requests = found["SpotInstanceRequests"]
        self.spot_instance_ids = {r["InstanceId"] for r in requests if r.get("InstanceId")}
        ids = [r["SpotInstanceRequestId"] for r in requests if r["State"] in ("open", "active")]
        if ids:
            self.aws.ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=ids)
            for i in ids:
                self.report.add("spot-request", i)

    # -- scaling groups, templates, volumes -------------------------------------------------------------
    def _delete_scaling_groups(self) -> None:
        filters = [{"Name": "key", "Values": [CLUSTER_TAG]}, {"Name": "value", "Values": [self.cluster]}]
        paginator = self.aws.autoscaling.get_paginator("describe_tags")
        names = {
            t["ResourceId"]
            for page in paginator.paginate(Filters=filters)
            for t in page["Tags"]
            if t["ResourceType"] == "auto-scaling-group"
        }
        for name in sorted(names):
            try:
                self.aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
                self.report.add("auto-scaling-group", name)
            except botocore.exceptions.ClientError as e:
                if "not found" not in describe(e):
                    raise

    def _delete_launch_templates(self) -> None:
        found = self.aws.ec2.describe_launch_templates(Filters=cluster_filter(self.cluster))["LaunchTemplates"]
        for template in found:
            self.aws.ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
            self.report.add("launch-template", template["LaunchTemplateId"])

    def _delete_volumes(self) -> None:
        available = {"Name": "status", "Values": ["available"]}
        for volume in self.aws.ec2.describe_volumes(Filters=[*cluster_filter(self.cluster), available])["Volumes"]:
            self.aws.ec2.delete_volume(VolumeId=volume["VolumeId"])
            self.report.add("volume", volume["VolumeId"])

    # -- IAM ---------------------------------------------------------------------------------------------
    def _delete_role(self) -> None:
        name, iam = role_name(self.cluster), self.aws.iam
        self._delete_instance_profile(name)
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except botocore.exceptions.ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return
            raise
        if not is_ours(role.get("Tags") or iam.list_role_tags(RoleName=name)["Tags"], self.cluster):
            log.warning("left the role %s alone: it is not tagged as cluster %s's", name, self.cluster)
            return
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)
        self.report.add("role", name)

    def _delete_instance_profile(self, name: str) -> None:
        iam = self.aws.iam
        try:
            profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except botocore.exceptions.ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return
            raise
        if not is_ours(
            profile.get("Tags") or iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"], self.cluster
        ):
            log.warning("left the instance profile %s alone: it is not tagged as cluster %s's", name, self.cluster)
            return
        for role in profile.get("Roles", []):
            iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
        iam.delete_instance_profile(InstanceProfileName=name)
        self.report.add("instance-profile", name)

    # -- the security group and the bucket -------------------------------------------------------------
    def _security_group_ids(self) -> list[str]:
        try:
            found = self.aws.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [self.cluster]}])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.failures.append(f"finding the security group: {describe(e)}")
            return []
        return [g["GroupId"] for g in found["SecurityGroups"] if is_ours(g.get("Tags"), self.cluster)]

    def _delete_security_groups(self, group_ids: list[str]) -> None:
        for group_id in group_ids:
            if self._delete_security_group(group_id):
                self.report.add("security-group", group_id)

    def _delete_security_group(self, group_id: str) -> bool:
        """Delete one group, waiting while it is still in use; whether it existed."""
        # a group stays in use for a while after its instances terminate (their network interfaces)
        try:
            retry_on(
                {"DependencyViolation"},
                f"the security group {group_id} to be free",
                lambda: self.aws.ec2.delete_security_group(GroupId=group_id),
                self.limits.dependencies,
            )
        except botocore.exceptions.ClientError as e:
            if error_code(e) != "InvalidGroup.NotFound":
                raise
            return False
        return True

    def _delete_bucket(self) -> None:
        if delete_bucket(self.aws, self.cluster):
            self.report.add("bucket", self.cluster)
