"""The node agent against the instance-metadata stand-in (real HTTP on 127.0.0.1, IMDSv2 tokens)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.imds_standin import serve
from toil.provision.node_agent import MetadataClient, SpotNotice, kubernetes_patch, slurm_drain_argv, watch
from toil.runtime.batch.remote.slurm import slurm_nodes


@pytest.fixture
def imds(tmp_path: Path) -> tuple[str, Path]:
    """A metadata stand-in for instance i-0abc on a free port; the file a notice is written to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notice = tmp_path / "notice.json"
    threading.Thread(target=serve, args=("i-0abc", "t2.large", notice, "127.0.0.1", port), daemon=True).start()
    client = MetadataClient(f"http://127.0.0.1:{port}")
    for _ in range(100):
        try:
            client.get("instance-id")
            break
        except OSError:
            threading.Event().wait(0.05)
    return f"http://127.0.0.1:{port}", notice


def test_reads_metadata_with_an_imdsv2_token(imds: tuple[str, Path]) -> None:
    client = MetadataClient(imds[0])
    assert client.get("instance-id") == "i-0abc" and client.token
    assert client.get("no/such/thing") is None
    client.token = "expired"  # refused: a fresh token is fetched and the read still succeeds
    assert client.get("instance-type") == "t2.large" and client.token != "expired"


def test_no_notice_no_drain_then_one_drain_on_the_notice(imds: tuple[str, Path]) -> None:
    base, notice_file = imds
    drained: list[SpotNotice] = []
    polls = iter(range(3))
    assert watch(MetadataClient(base), drained.append, 0.01, stop=lambda: next(polls, None) is None) is None
    assert drained == []
    notice_file.write_text('{"action": "terminate", "time": "2026-12-07T04:02:00Z"}')
    found = watch(MetadataClient(base), drained.append, 0.01)
    assert found == SpotNotice("terminate", "2026-12-07T04:02:00Z") and drained == [found]


def test_unreachable_metadata_is_retried_not_fatal() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    polls = iter(range(2))
    assert (
        watch(MetadataClient(f"http://127.0.0.1:{dead}", 0.2), print, 0.01, lambda: next(polls, None) is None) is None
    )


def test_slurm_drain_is_read_back_as_a_notice() -> None:
    """The reason the agent gives is the one the Slurm batch system reads as 'under notice'."""
    argv = slurm_drain_argv("i-0abc", SpotNotice("terminate", "2026-12-07T04:02:00Z"))
    reason = next(a for a in argv if a.startswith("Reason="))
    assert " " not in reason  # scontrol -o splits fields on spaces
    line = f"NodeName=i-0abc CPUTot=2 RealMemory=8192 State=MIXED+DRAIN AvailableFeatures=t2.large {reason}"
    assert slurm_nodes(line)[0].state == "notice"


def test_kubernetes_drain_cordons_and_labels_with_a_valid_value() -> None:
    patch = kubernetes_patch(SpotNotice("terminate", "2026-12-07T04:02:00Z"))
    assert patch == {
        "metadata": {"labels": {"toil.io/spot-notice": "20261207T040200Z"}},
        "spec": {"unschedulable": True},
    }


def test_kubernetes_node_under_notice() -> None:
    from toil.runtime.batch.remote.kubernetes.system import _node_state

    assert _node_state(ready=True, cordoned=True, noticed=True) == "notice"
    assert _node_state(ready=True, cordoned=True, noticed=False) == "draining"
    assert _node_state(ready=False, cordoned=False, noticed=True) == "down"
    assert _node_state(ready=True, cordoned=False, noticed=False) == "up"
