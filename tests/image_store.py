"""An image store Podman in the pods reads this machine's images from, where no registry is reachable.

Podman's standard ``additionalimagestores`` setting, in a ``storage.conf`` the pods are pointed at with
``CONTAINERS_STORAGE_CONF`` (``--setEnv``): a directory on the host path every pod mounts, loaded with
``podman save | podman --root STORE load``. On a real cluster Podman pulls the images instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def local_images() -> list[str]:
    """Every named image of this machine's Podman but the appliances (the pods run those, not Podman)."""
    p = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=True
    )
    names = {line.strip() for line in p.stdout.splitlines() if line.strip() and "<none>" not in line}
    return sorted(n for n in names if not n.startswith(("localhost/toil:", "localhost/toil96:", "registry.k8s.io/")))


def load_image_store(directory: Path, images: list[str]) -> Path:
    """Load ``images`` (those it lacks) into ``directory``/images; return the storage.conf that adds it."""
    store = directory / "images"
    store.mkdir(parents=True, exist_ok=True)
    missing = [i for i in images if subprocess.run(["podman", "--root", str(store), "image", "exists", i]).returncode]
    if missing:
        save = subprocess.Popen(["podman", "save", "-m", *missing], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        load = subprocess.run(["podman", "--root", str(store), "load", "-q"], stdin=save.stdout, capture_output=True)
        if save.wait() != 0 or load.returncode != 0:
            raise RuntimeError(f"cannot load {missing} into {store}: {load.stderr.decode()[-400:]}")
    conf = directory / "storage.conf"
    conf.write_text(
        '[storage]\ndriver = "overlay"\nrunroot = "/run/containers/storage"\n'
        'graphroot = "/var/lib/containers/storage"\n'
        f'[storage.options]\nadditionalimagestores = ["{store}"]\n'
    )
    return conf
