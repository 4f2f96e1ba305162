"""Making a cluster on AWS, step by step; each step records what it is doing for the failure line."""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from toil.provision.aws.clients import AwsClients, WaitTimeout, describe, error_code, retry_on, wait_until
from toil.provision.aws.names import bucket_name, cluster_filter, role_name, tag_list
from toil.provision.aws.policy import assume_role_policy, node_policy
from toil.provision.bootstrap import (
    CA_CERT_HASH_FILE,
    NodeBootstrap,
    include_user_data,
    new_join_token,
    user_data,
)
from toil.provision.remote import SSH_USER, read_ca_cert_hash, wait_for_appliance
from toil.provision.spec import LEADER, WORKER, ClusterExistsError, ClusterSpec, LaunchedCluster, ProvisionError

log = logging.getLogger(__name__)
USER_DATA_LIMIT = 16 * 1024  # EC2's limit on raw user data
# IMDSv2 with two hops: the metadata (the role's credentials, spot notices) is reachable from containers
METADATA_OPTIONS: dict[str, Any] = {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"}
CANONICAL = "099720109477"  # Ubuntu's images: cloud-init runs the bootstrap
_CAPACITY_CODES = {"InsufficientInstanceCapacity", "Unsupported", "InstanceLimitExceeded"}
# a new instance profile is not usable by RunInstances for some seconds (IAM is eventually consistent)
_PROFILE_NOT_YET = {"InvalidParameterValue"}


@dataclass(frozen=True)
class LaunchLimits:
    """How long each wait of a launch may last, in seconds."""

    running: float = 600.0  # instances pending -> running
    spot: float = 900.0  # spot requests fulfilled (also their ValidUntil)
    consistency: float = 90.0  # IAM and EC2 eventual consistency
    presigned: int = 6 * 3600  # a presigned user-data URL stays valid (covers the spot wait and boot)


@dataclass
class Placement:
    """Where the nodes go."""

    vpc_id: str | None
    subnet_id: str | None


class AwsLaunch:
    """One launch of one cluster; ``step`` says what it was doing and ``made`` whether anything exists yet."""

    def __init__(self, clients: AwsClients, spec: ClusterSpec, limits: LaunchLimits) -> None:
        self.aws, self.spec, self.limits = clients, spec, limits
        self._step = "starting"
        self.made = False
        self.token = new_join_token()
        self.group_ids: list[str] = []
        self.profile_arn = ""
        self.image: dict[str, Any] = {}
        self.placement = Placement(None, None)

    @property
    def step(self) -> str:
        """What the launch is doing (named in the line that reports a failure)."""
        return self._step

    @step.setter
    def step(self, what: str) -> None:
        log.debug("cluster %s: %s", self.spec.name, what)  # DEBUG: a failed launch prints one line at INFO
        self._step = what

    def run(self) -> LaunchedCluster:
        """Make the security group, role, leader and workers; the caller cleans up if this raises."""
        self.step = "finding the subnet"
        self.placement = self._find_placement()
        self.step = "checking that no cluster of this name exists"
        self._check_absent()
        self.step = "checking the instance types and the key pair"
        self._check_inputs()
        self.step = "finding the machine image"
        self.image = self._find_image()
        self.step = "creating the security group"
        self.made = True
        self.group_ids = [self._create_security_group(), *self.spec.extra_security_groups]
        self.step = "creating the IAM role and instance profile"
        self.profile_arn = self.spec.profile_arn or self._create_instance_profile()
        leader = self._start_leader()
        cluster = LaunchedCluster(self.spec.name, leader["InstanceId"])
        leader_ip = leader.get("PrivateIpAddress", "")
        if self.spec.leader_wait <= 0:  # as asked: no wait for the leader (workers cannot pin its CA)
            self._start_workers(cluster, leader_ip, "")
            self.step = "waiting for the instances to run"
            self._wait_running([cluster.leader_id, *cluster.worker_ids])
            return cluster
        # as Toil does: the leader first, up and answering, then the workers, told what to trust of it
        self.step = "waiting for the leader to run"
        self._wait_running([cluster.leader_id])
        address = self._address(cluster.leader_id)
        self.step = f"waiting for the leader's appliance over ssh ({SSH_USER}@{address})"
        wait_for_appliance(address, self.spec.leader_wait)
        ca_hash = ""
        if self.spec.cluster_type == "kubernetes" and any(g.min_count for g in self.spec.workers):
            self.step = f"reading the cluster's CA hash from the leader over ssh ({SSH_USER}@{address})"
            ca_hash = read_ca_cert_hash(address, CA_CERT_HASH_FILE)
        self._start_workers(cluster, leader_ip, ca_hash)
        self.step = "waiting for the workers to run"
        self._wait_running(cluster.worker_ids)
        return cluster

    def _address(self, instance_id: str) -> str:
        """The instance's public address, else its private one (as ssh-cluster reaches the leader)."""
        reservations = self.aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        instance = reservations[0]["Instances"][0]
        address = instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")
        if not address:
            raise ProvisionError(f"the leader {instance_id} has no address")
        return str(address)

    # -- where, and what exists -------------------------------------------------------------------------
    def _find_placement(self) -> Placement:
        ec2 = self.aws.ec2
        if self.spec.subnet:
            subnets = ec2.describe_subnets(SubnetIds=[self.spec.subnet])["Subnets"]
            return Placement(subnets[0]["VpcId"], self.spec.subnet)
        filters = [
            {"Name": "availability-zone", "Values": [self.spec.zone]},
            {"Name": "default-for-az", "Values": ["true"]},
        ]
        subnets = ec2.describe_subnets(Filters=filters)["Subnets"]
        if subnets:
            return Placement(subnets[0]["VpcId"], subnets[0]["SubnetId"])
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ProvisionError(f"no default VPC in {self.spec.region}: give --vpcSubnet")
        return Placement(vpcs[0]["VpcId"], None)

    def _check_absent(self) -> None:
        name, found = self.spec.name, []
        if self._security_groups_named(name):
            found.append("its security group")
        states = {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
        reservations = self.aws.ec2.describe_instances(Filters=[*cluster_filter(name), states])["Reservations"]
        if any(r["Instances"] for r in reservations):
            found.append("instances")
        if not self.spec.profile_arn and self._role_exists():
            found.append("its IAM role")
        if found:
            raise ClusterExistsError(
                f"cluster {name} already exists in {self.spec.region} ({', '.join(found)} found): "
                f"remove it first with 'toil destroy-cluster -z {self.spec.zone} {name}'"
            )

    def _check_inputs(self) -> None:
        """Unknown instance types or key pair: refused before anything is made (AWS would refuse them half way)."""
        wanted = {self.spec.leader_node_type} | {t for g in self.spec.workers for t in g.node_type.instance_types}
        try:
            self.aws.ec2.describe_instance_types(InstanceTypes=sorted(wanted))
        except botocore.exceptions.ClientError as e:
            if error_code(e) != "InvalidInstanceType":
                raise
            raise ProvisionError(f"unknown instance type in {', '.join(sorted(wanted))} ({describe(e)})") from None
        try:
            self.aws.ec2.describe_key_pairs(KeyNames=[self.spec.key_pair])
        except botocore.exceptions.ClientError as e:
            if error_code(e) != "InvalidKeyPair.NotFound":
                raise
            raise ProvisionError(
                f"no key pair {self.spec.key_pair} in {self.spec.region}: check --keyPairName"
            ) from None

    def _security_groups_named(self, name: str) -> list[dict[str, Any]]:
        filters = [{"Name": "group-name", "Values": [name]}]
        if self.placement.vpc_id:
            filters.append({"Name": "vpc-id", "Values": [self.placement.vpc_id]})
        return list(self.aws.ec2.describe_security_groups(Filters=filters)["SecurityGroups"])

    def _role_exists(self) -> bool:
        try:
            self.aws.iam.get_role(RoleName=role_name(self.spec.name))
            return True
        except botocore.exceptions.ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return False
            raise

    def _find_image(self) -> dict[str, Any]:
        ec2 = self.aws.ec2
        if self.spec.image:
            images = ec2.describe_images(ImageIds=[self.spec.image])["Images"]
            if not images:
                raise ProvisionError(f"TOIL_AWS_AMI {self.spec.image} not found in {self.spec.region}")
            return dict(images[0])
        name = {"Name": "name", "Values": ["ubuntu/images/hvm-ssd*/ubuntu-*-amd64-server-*"]}
        found: list[dict[str, Any]] = ec2.describe_images(Owners=[CANONICAL], Filters=[name])["Images"]
        if not found:
            raise ProvisionError(f"no Ubuntu image found in {self.spec.region}: set TOIL_AWS_AMI")
        return max(found, key=_newest_first)

    # -- the security group and the role ------------------------------------------------------------------
    def _create_security_group(self) -> str:
        args: dict[str, Any] = {
            "GroupName": self.spec.name,
            "Description": f"Toil cluster {self.spec.name}",
            "TagSpecifications": [{"ResourceType": "security-group", "Tags": tag_list(self.spec.base_tags())}],
        }
        if self.placement.vpc_id:
            args["VpcId"] = self.placement.vpc_id
        group_id = str(self.aws.ec2.create_security_group(**args)["GroupId"])
        ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        members = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]}
        retry_on(
            {"InvalidGroup.NotFound"},
            "the new security group to be visible",
            lambda: self.aws.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[ssh, members]),
            self.limits.consistency,
        )
        return group_id

    def _create_instance_profile(self) -> str:
        iam, name, tags = self.aws.iam, role_name(self.spec.name), tag_list(self.spec.base_tags())
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=assume_role_policy(),
            Tags=tags,
            Description=f"Nodes of the Toil cluster {self.spec.name}",
        )["Role"]
        policy = node_policy(self.spec.name, role["Arn"], bucket_name(self.spec.name), self.spec.cluster_type)
        iam.put_role_policy(RoleName=name, PolicyName="toil-cluster-node", PolicyDocument=json.dumps(policy))
        profile = iam.create_instance_profile(InstanceProfileName=name, Tags=tags)["InstanceProfile"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return str(profile["Arn"])

    # -- instances ------------------------------------------------------------------------------------
    def _launch_spec(self, instance_type: str, role: str, storage_gb: int, data: str) -> dict[str, Any]:
        """What run_instances and a spot request share."""
        spec: dict[str, Any] = {
            "ImageId": self.image["ImageId"],
            "InstanceType": instance_type,
            "KeyName": self.spec.key_pair,
            "UserData": data,
            "SecurityGroupIds": self.group_ids,
            "IamInstanceProfile": {"Arn": self.profile_arn},
            "BlockDeviceMappings": [
                {
                    "DeviceName": self.image.get("RootDeviceName") or "/dev/sda1",
                    "Ebs": {"VolumeSize": storage_gb, "VolumeType": "gp3", "DeleteOnTermination": True},
                }
            ],
        }
        if self.placement.subnet_id:
            spec["SubnetId"] = self.placement.subnet_id
        else:
            spec["Placement"] = {"AvailabilityZone": self.spec.zone}
        return spec

    def _node_user_data(self, role: str, leader_ip: str = "", ca_hash: str = "") -> str:
        data = user_data(NodeBootstrap(self.spec, role, self.token, leader_ip, ca_hash))
        if len(data.encode()) <= USER_DATA_LIMIT:
            return data
        self.step = f"putting the {role}'s user data in the cluster's bucket"
        return include_user_data(self._upload_user_data(role, data))

    def _upload_user_data(self, role: str, data: str) -> str:
        from toil.provision.aws.bucket import ensure_bucket

        bucket = ensure_bucket(self.aws, self.spec)
        key = f"user-data/{role}-{self.token.split('.')[0]}.yaml"
        self.aws.s3.put_object(Bucket=bucket, Key=key, Body=data.encode())
        return str(
            self.aws.s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self.limits.presigned
            )
        )

    def _run_on_demand(
        self, instance_types: tuple[str, ...], role: str, count: int, storage: int, data: str
    ) -> list[dict[str, Any]]:
        """Start ``count`` instances of the first type with capacity (the types are interchangeable)."""
        tags = self.spec.node_tags(role)
        last: botocore.exceptions.ClientError | None = None
        for instance_type in instance_types:
            request = {
                **self._launch_spec(instance_type, role, storage, data),
                "MinCount": count,
                "MaxCount": count,
                "MetadataOptions": METADATA_OPTIONS,
                "TagSpecifications": [
                    {"ResourceType": "instance", "Tags": tag_list(tags)},
                    {"ResourceType": "volume", "Tags": tag_list(tags)},
                ],
            }
            try:
                return self._run_instances(request)
            except botocore.exceptions.ClientError as e:
                if error_code(e) not in _CAPACITY_CODES:
                    raise
                last = e
        assert last is not None
        raise last

    def _run_instances(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """run_instances, again while the new instance profile is not yet usable."""
        return list(
            retry_on(
                _PROFILE_NOT_YET,
                "the instance profile to be usable",
                lambda: self.aws.ec2.run_instances(**request)["Instances"],
                self.limits.consistency,
                mentioning="profile",
            )
        )

    def _start_leader(self) -> dict[str, Any]:
        data = self._node_user_data(LEADER)
        self.step = "starting the leader"
        leader_type = (self.spec.leader_node_type,)
        return self._run_on_demand(leader_type, LEADER, 1, self.spec.leader_storage_gb, data)[0]

    def _start_workers(self, cluster: LaunchedCluster, leader_ip: str, ca_hash: str) -> None:
        for group in self.spec.workers:
            if group.min_count == 0:
                continue
            data = self._node_user_data(WORKER, leader_ip, ca_hash)
            node_type = group.node_type
            if node_type.spot_bid is None:
                self.step = f"starting {group.min_count} on-demand {node_type} worker(s)"
                started = self._run_on_demand(
                    node_type.instance_types, WORKER, group.min_count, self.spec.node_storage_gb, data
                )
                cluster.worker_ids += [i["InstanceId"] for i in started]
            else:
                self.step = f"requesting {group.min_count} spot {node_type} worker(s)"
                self._start_spot(cluster, node_type.instance_types, node_type.spot_bid, group.min_count, data)

    def _start_spot(self, cluster: LaunchedCluster, types: tuple[str, ...], bid: float, count: int, data: str) -> None:
        """Spot workers at the bid, the interchangeable types tried in turn, each for its share of the time limit."""
        share = self.limits.spot / len(types)
        wanted = count
        for instance_type in types:
            self.step = f"requesting {wanted} spot {instance_type} worker(s) at ${bid}/h"
            wanted -= len(self._request_spot(cluster, instance_type, bid, wanted, data, share))
            if wanted == 0:
                return
        raise ProvisionError(
            f"{wanted} of {count} spot worker(s) ({'/'.join(types)}) not fulfilled at ${bid}/h "
            f"within {self.limits.spot:.0f} s"
        )

    def _request_spot(
        self, cluster: LaunchedCluster, instance_type: str, bid: float, count: int, data: str, limit: float
    ) -> list[str]:
        """Request ``count`` spot instances; the ones started within ``limit``, tagged (the rest cancelled)."""
        import base64

        spec = self._launch_spec(instance_type, WORKER, self.spec.node_storage_gb, data)
        spec["UserData"] = base64.b64encode(data.encode()).decode()  # spot specifications take it encoded
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=limit)
        tags = tag_list(self.spec.node_tags(WORKER))
        requests = self.aws.ec2.request_spot_instances(
            SpotPrice=f"{bid:.4f}",
            InstanceCount=count,
            Type="one-time",
            ValidUntil=until,
            LaunchSpecification=spec,
            TagSpecifications=[{"ResourceType": "spot-instances-request", "Tags": tags}],
        )["SpotInstanceRequests"]
        ids = [r["SpotInstanceRequestId"] for r in requests]
        cluster.spot_request_ids += ids
        self.step = f"waiting for {count} spot {instance_type} worker(s) at ${bid}/h"
        fulfilled: dict[str, str] = {}
        try:
            wait_until(f"{count} spot {instance_type} request(s)", lambda: self._fulfilled(ids, fulfilled), limit)
        except WaitTimeout:
            self.aws.ec2.cancel_spot_instance_requests(SpotInstanceRequestIds=ids)
            self._fulfilled(ids, fulfilled)  # one fulfilled while being cancelled is a worker all the same
        instance_ids = list(fulfilled.values())
        cluster.worker_ids += instance_ids
        if instance_ids:  # instances from spot requests come untagged; tag them and their root volumes
            self.aws.ec2.create_tags(Resources=instance_ids + self._volumes_of(instance_ids), Tags=tags)
        for instance_id in instance_ids:  # (a spot request's launch specification cannot carry them)
            self.aws.ec2.modify_instance_metadata_options(InstanceId=instance_id, **METADATA_OPTIONS)
        return instance_ids

    def _fulfilled(self, request_ids: list[str], fulfilled: dict[str, str]) -> bool:
        """Record the requests' instances in ``fulfilled``; whether all have one. A failed request raises."""
        found = retry_on(
            {"InvalidSpotInstanceRequestID.NotFound"},
            "the spot requests to be visible",
            lambda: self.aws.ec2.describe_spot_instance_requests(SpotInstanceRequestIds=request_ids),
            self.limits.consistency,
        )["SpotInstanceRequests"]
        for request in found:
            if request.get("InstanceId"):
                fulfilled[request["SpotInstanceRequestId"]] = request["InstanceId"]
            elif request["State"] == "failed":
                status = request.get("Status", {})
                raise ProvisionError(f"spot request {status.get('Code', 'failed')}: {status.get('Message', '')}")
        return len(fulfilled) == len(request_ids)

    def _volumes_of(self, instance_ids: list[str]) -> list[str]:
        reservations = self.aws.ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
        return [
            m["Ebs"]["VolumeId"]
            for r in reservations
            for i in r["Instances"]
            for m in i.get("BlockDeviceMappings", [])
            if "Ebs" in m
        ]

    def _wait_running(self, instance_ids: list[str]) -> None:
        if not instance_ids:  # (describe_instances without ids would describe every instance)
            return

        def running() -> bool:
            reservations = self.aws.ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
            states = {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r["Instances"]}
            gone = [i for i, s in states.items() if s in ("shutting-down", "terminated", "stopped")]
            if gone:
                raise ProvisionError(f"instance(s) {', '.join(gone)} stopped while starting")
            return len(states) == len(instance_ids) and all(s == "running" for s in states.values())

        retry_on(
            {"InvalidInstanceID.NotFound"},
            "the instances to be visible",
            lambda: wait_until(f"{len(instance_ids)} instance(s) to run", running, self.limits.running),
            self.limits.running,
        )


def _newest_first(image: dict[str, Any]) -> tuple[str, str]:
    return (image.get("CreationDate") or "", image["Name"])
