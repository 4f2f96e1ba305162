"""toil.runtime.worker.containers: the node-wide image lock, engine choice and the per-job record for stats."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from toil.runtime.worker import containers


def _hold(lock_dir: str, log: str, name: str) -> None:
    os.environ["TOIL_CONTAINER_LOCK_DIR"] = lock_dir
    with containers.image_lock("podman", "img:1"):
        with open(log, "a") as f:
            f.write(f"{name} in {time.time()}\n")
        time.sleep(0.3)
        with open(log, "a") as f:
            f.write(f"{name} out {time.time()}\n")


def test_the_image_lock_admits_one_process_at_a_time(tmp_path: Path) -> None:
    log = tmp_path / "log"
    procs = [multiprocessing.Process(target=_hold, args=(str(tmp_path / "locks"), str(log), str(i))) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    events = [line.split()[:2] for line in log.read_text().splitlines()]
    assert len(events) == 6
    for i in range(0, 6, 2):  # every "in" is followed by the same process's "out"
        assert events[i][1] == "in" and events[i + 1] == [events[i][0], "out"]


def test_a_named_engine_is_taken_and_auto_finds_none_without_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    assert containers.choose_engine("podman") == "podman"
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(containers, "_working", {})
    assert containers.choose_engine("auto") is None


def test_uses_are_recorded_once_and_taken_once() -> None:
    containers.take_uses()
    containers.note_use("podman", "a:1")
    containers.note_use("podman", "a:1")
    containers.note_use("docker", "b:2")
    assert containers.take_uses() == ["podman a:1", "docker b:2"]
    assert containers.take_uses() == []


def test_a_missing_image_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "podman"
    fake.write_text("#!/bin/sh\n[ \"$1\" = pull ] && { echo 'Error: no such host' >&2; exit 125; }\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TOIL_CONTAINER_LOCK_DIR", str(tmp_path / "locks"))
    with pytest.raises(containers.ContainerImageError, match=r"'x/y:1' with podman: Error: no such host"):
        containers.ensure_image("podman", "x/y:1")


def test_the_engine_among_the_workers_is_chosen_without_probing_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch system whose workers are elsewhere (Kubernetes pods) names their engines: nothing runs here."""
    monkeypatch.setattr(containers, "engine_works", lambda engine: pytest.fail(f"probed {engine} here"))
    assert containers.choose_engine("auto", ("podman",)) == "podman"
    assert containers.choose_engine("auto", ("singularity", "podman")) == "podman"  # ENGINES' order
    assert containers.choose_engine("docker", ("podman",)) is None
    assert containers.choose_engine("auto", ()) is None


def test_kubernetes_pods_have_podman_only_when_privileged() -> None:
    from toil.runtime.batch import batch_system_class
    from toil.runtime.batch.base import ContainerSupport
    from toil.runtime.config import Config

    cls, config = batch_system_class("kubernetes"), Config()
    config.kubernetes_privileged = True
    assert cls.worker_containers(config) == ContainerSupport(("podman",))
    config.kubernetes_privileged = False
    refused = cls.worker_containers(config)
    assert refused is not None and refused.engines == () and "--kubernetesPrivileged true" in refused.hint
    assert batch_system_class("single_machine").worker_containers(config) is None
