"""Version strings, at Toil's import path (toil.version)."""

import sys

baseVersion = "0.1.0"
version = baseVersion
distVersion = baseVersion
cgcloudVersion = baseVersion
python = f"python{sys.version_info.major}.{sys.version_info.minor}"
exactPython = python
# The appliance image (the Kubernetes and cluster issues build it): REGISTRY/NAME:TAG, overridable with
# TOIL_DOCKER_REGISTRY, TOIL_DOCKER_NAME and TOIL_APPLIANCE_SELF as in Toil (toil.applianceSelf).
dockerRegistry = "localhost"
dockerName = "toil"
dockerTag = f"{baseVersion}-py{sys.version_info.major}.{sys.version_info.minor}"
currentCommit = ""  # no build step stamps a commit here; Toil's uses it only to name appliance images
dirty = False
