"""The Kubernetes batch system's pure parts: what a job asks for (manifests) and what a pod's status means."""

from __future__ import annotations

import pytest

from toil.compiler.ir import Resources
from toil.runtime.batch.remote.kubernetes import specs
from toil.runtime.batch.remote.kubernetes.states import PodView, job_state, no_pod_state, waits_for_room
from toil.runtime.batch.remote.kubernetes.system import forwarded_environment

GiB = 2**30
SETTINGS = specs.PodSettings(image="localhost/toil:1", namespace="ns", run_label="toil_abc", owner="me")


@pytest.mark.parametrize(("value", "text"), [(1, "1"), (2.0, "2"), (0.5, "500m"), (0.1, "100m"), (0.0001, "1m")])
def test_quantity(value: float, text: str) -> None:
    assert specs.quantity(value) == text


def test_requests_and_limits_follow_the_job() -> None:
    r = specs.resource_requirements(Resources(2, 3 * GiB, 5 * GiB, (((("kind", "gpu"), ("count", 2))),)))
    disk = str(5 * GiB + specs.WORKER_DISK)
    assert r["requests"] == {"cpu": "2", "memory": str(3 * GiB), "ephemeral-storage": disk, "nvidia.com/gpu": "2"}
    assert r["limits"] == r["requests"]


def test_a_tiny_job_gets_the_worker_floor_and_may_burst_to_one_core() -> None:
    r = specs.resource_requirements(Resources(0.1, 10 * 2**20, 0))
    assert r["requests"]["cpu"] == "100m" and r["limits"]["cpu"] == "1"
    assert r["requests"]["memory"] == r["limits"]["memory"] == str(specs.WORKER_MEMORY_FLOOR)
    assert "ephemeral-storage" not in r["requests"]


def test_preemptible_jobs_prefer_spot_nodes_and_tolerate_their_taint() -> None:
    p = specs.placement(True)
    prefs = p["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    keys = {e["preference"]["matchExpressions"][0]["key"] for e in prefs}
    assert keys == {"eks.amazonaws.com/capacityType", "cloud.google.com/gke-preemptible"}
    assert p["tolerations"] == [{"key": "cloud.google.com/gke-preemptible", "operator": "Equal", "value": "true"}]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in p["affinity"]["nodeAffinity"]


def test_other_jobs_are_kept_off_spot_nodes() -> None:
    p = specs.placement(False)
    terms = p["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    exprs = terms[0]["matchExpressions"]
    assert {(e["key"], e["operator"], tuple(e["values"])) for e in exprs} == {
        ("eks.amazonaws.com/capacityType", "NotIn", ("SPOT",)),
        ("cloud.google.com/gke-preemptible", "NotIn", ("true",)),
    }
    assert "tolerations" not in p


def test_job_manifest_labels_everything_and_never_retries() -> None:
    m = specs.job_manifest(SETTINGS, "me-toil-1", ["python3", "-m", "x"], Resources(1, GiB, GiB), {"toil_kind": "job"})
    assert m["metadata"]["labels"] == {"toil_run": "toil_abc", "toil_owner": "me", "toil_kind": "job"}
    assert m["spec"]["template"]["metadata"]["labels"] == m["metadata"]["labels"]
    assert m["spec"]["backoffLimit"] == 0
    pod = m["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["hostNetwork"] is True
    (container,) = pod["containers"]
    assert container["image"] == "localhost/toil:1" and container["command"] == ["python3", "-m", "x"]
    assert {"name": "TOIL_WORKDIR", "value": specs.POD_WORK_DIR} in container["env"]
    assert pod["volumes"] == [{"name": "workdir", "emptyDir": {}}]
    assert "envFrom" not in container and "serviceAccountName" not in pod and "securityContext" not in container


def test_host_path_secret_service_account_and_privilege() -> None:
    from dataclasses import replace

    s = replace(SETTINGS, host_path="/shared", secret="me-env", service_account="robot", privileged=True)
    m = specs.job_manifest(s, "n", ["true"], Resources(1, GiB, 0))
    pod = m["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["volumes"] == [
        {"name": "workdir", "hostPath": {"path": "/shared", "type": "DirectoryOrCreate"}},
        {"name": "containers", "emptyDir": {}},  # Podman's storage: a privileged pod runs containerised steps
    ]
    assert container["volumeMounts"] == [
        {"name": "workdir", "mountPath": "/shared"},
        {"name": "containers", "mountPath": specs.CONTAINER_STORAGE},
    ]
    assert {"name": "TOIL_WORKDIR", "value": "/shared"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "me-env"}}]
    assert pod["serviceAccountName"] == "robot" and container["securityContext"] == {"privileged": True}


@pytest.mark.parametrize(
    ("text", "label"), [("Alice_Smith", "alice-smith"), ("--x--", "x"), ("", "x"), ("a" * 80, "a" * 63)]
)
def test_dns_label(text: str, label: str) -> None:
    assert specs.dns_label(text) == label


def pod(**kw: object) -> PodView:
    base: dict[str, object] = {"name": "p-1", "job_name": "j", "phase": "Pending", "created": 1000.0}
    base.update(kw)
    return PodView(**base)  # type: ignore[arg-type]


def test_pod_phases() -> None:
    assert job_state("j", None, 1000, 120).state == "pending"
    assert job_state("j", pod(phase="Running"), 1000, 120).state == "running"
    done = job_state("j", pod(phase="Succeeded", exit_code=0), 1000, 120)
    assert (done.state, done.exit_code) == ("done", 0)
    failed = job_state("j", pod(phase="Failed", exit_code=3, terminated_reason="Error"), 1000, 120)
    assert (failed.state, failed.exit_code, failed.permanent) == ("failed", 3, False)


def test_oom_killed_is_out_of_memory() -> None:
    st = job_state("j", pod(phase="Failed", exit_code=137, terminated_reason="OOMKilled"), 1000, 120)
    assert st.state == "oom" and "OOMKilled" in st.reason


@pytest.mark.parametrize("view", [
    pod(phase="Failed", reason="Evicted", message="The node was low on resource: memory."),
    pod(phase="Running", deleted=True),
    pod(phase="Unknown", reason="NodeLost"),
    pod(phase="Failed", reason="UnexpectedAdmissionError"),
])  # fmt: skip
def test_evicted_deleted_or_lost_pods_are_lost_not_failed(view: PodView) -> None:
    assert job_state("j", view, 1000, 120).state == "lost"


def test_a_pod_evicted_for_its_own_disk_use_failed() -> None:
    why = "Pod ephemeral local storage usage exceeds the total limit of containers 1M. "
    st = job_state("j", pod(phase="Failed", reason="Evicted", message=why), 1000, 120)
    assert st.state == "failed" and "exceeds the total limit" in st.reason


def test_a_deleted_pod_of_a_killed_job_is_cancelled() -> None:
    assert job_state("j", pod(phase="Running", deleted=True), 1000, 120, killed=True).state == "cancelled"


def test_a_finished_pod_deleted_later_keeps_its_outcome() -> None:
    assert job_state("j", pod(phase="Succeeded", exit_code=0, deleted=True), 1000, 120).state == "done"


def test_unschedulable_fails_with_the_schedulers_words_after_the_timeout() -> None:
    why = "0/1 nodes are available: 1 node(s) didn't match node selector."
    view = pod(unschedulable=why)
    assert job_state("j", view, 1000 + 119, 120).state == "pending"
    st = job_state("j", view, 1000 + 121, 120)
    assert st.state == "failed" and st.permanent and "FailedScheduling" in st.reason and "node selector" in st.reason
    assert "\n" not in st.reason


def test_a_pod_waiting_for_room_waits_past_the_timeout() -> None:
    view = pod(unschedulable="0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.")
    assert job_state("j", view, 1000 + 10_000, 120).state == "pending"


@pytest.mark.parametrize(("message", "room"), [
    ("0/1 nodes are available: 1 Insufficient cpu.", True),
    ("0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.", True),
    ("0/1 nodes are available: 1 Too many pods.", True),
    ("0/1 nodes are available: 1 node(s) had taint {x: y}, that the pod didn't tolerate.", False),
    ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match node selector.", False),
    ("persistentvolumeclaim \"x\" not found", False),
])  # fmt: skip
def test_waits_for_room(message: str, room: bool) -> None:
    assert waits_for_room(message) is room


def test_image_pull_problems() -> None:
    hopeless = job_state("j", pod(waiting="InvalidImageName", waiting_message="bad"), 1000, 120)
    assert hopeless.state == "failed" and hopeless.permanent and "InvalidImageName" in hopeless.reason
    backoff = pod(waiting="ImagePullBackOff", waiting_message="Back-off pulling image x")
    assert job_state("j", backoff, 1010, 120).state == "pending"
    st = job_state("j", backoff, 1200, 120)
    assert st.state == "failed" and "ImagePullBackOff" in st.reason and "pulling image x" in st.reason


def test_a_job_without_a_pod_fails_with_the_events_reason() -> None:
    assert no_pod_state("j", 10, 120, []).state == "pending"
    st = no_pod_state("j", 200, 120, ['FailedCreate: serviceaccount "x" not found'])
    assert st.state == "failed" and st.permanent and 'serviceaccount "x" not found' in st.reason


def test_forwarded_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    class Config:
        environment = {"MY_TOKEN": "s", "PLAIN": "p", "UNSET": None}

    monkeypatch.setenv("TOIL_S3_HOST", "127.0.0.1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "k")
    monkeypatch.setenv("TOIL_WORKDIR", "/leader/only")
    monkeypatch.setenv("HOME", "/root")
    env = forwarded_environment(Config())
    assert env["TOIL_S3_HOST"] == "127.0.0.1" and env["AWS_SECRET_ACCESS_KEY"] == "k"
    assert env["MY_TOKEN"] == "s" and env["PLAIN"] == "p"
    assert "TOIL_WORKDIR" not in env and "HOME" not in env and "UNSET" not in env
