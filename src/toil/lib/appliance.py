"""The appliance image (the image cluster workers run the worker in), named as Toil names it."""

from __future__ import annotations

import logging
import os
import re

log = logging.getLogger("toil")


def lookupEnvVar(name: str, envName: str, defaultValue: str) -> str:
    """The value of environment variable ``envName``, else ``defaultValue``; says which (at INFO)."""
    if envName in os.environ:
        log.info("Overriding %s of %s with %s from %s.", name, defaultValue, os.environ[envName], envName)
        return os.environ[envName]
    log.info("Using default %s of %s as %s is not set.", name, defaultValue, envName)
    return defaultValue


def applianceSelf(forceDockerAppliance: bool = False) -> str:
    """REGISTRY/NAME:TAG from TOIL_DOCKER_REGISTRY, TOIL_DOCKER_NAME and this version, or TOIL_APPLIANCE_SELF whole.

    Toil asks the registry whether the image exists unless ``forceDockerAppliance``; there is no registry to ask
    here, so the name is only checked for form (a bad one raises ValueError naming it).
    """
    from toil import version

    registry = lookupEnvVar("docker registry", "TOIL_DOCKER_REGISTRY", version.dockerRegistry)
    name = lookupEnvVar("docker name", "TOIL_DOCKER_NAME", version.dockerName)
    appliance = lookupEnvVar("docker appliance", "TOIL_APPLIANCE_SELF", f"{registry}/{name}:{version.dockerTag}")
    if not re.fullmatch(r"[\w.\-/:@]+", appliance) or appliance.endswith((":", "/")):
        raise ValueError(
            f"not a container image name: {appliance!r} (TOIL_APPLIANCE_SELF, TOIL_DOCKER_REGISTRY or TOIL_DOCKER_NAME)"
        )
    return appliance


def _init_command(env_name: str, what: str) -> str:
    command = lookupEnvVar(what, env_name, "")
    if re.search(r"[\n\r\t]", command):
        raise RuntimeError(f'"{command}" contains invalid characters (newline and/or tab).')
    return command.replace("'", "'\\''")  # it is placed inside single quotes


def customDockerInitCmd() -> str:
    """TOIL_CUSTOM_DOCKER_INIT_COMMAND, quoted for single quotes: run on nodes before the appliance starts."""
    return _init_command("TOIL_CUSTOM_DOCKER_INIT_COMMAND", "user-defined custom docker init command")


def customInitCmd() -> str:
    """TOIL_CUSTOM_INIT_COMMAND, quoted for single quotes: run on nodes before anything else."""
    return _init_command("TOIL_CUSTOM_INIT_COMMAND", "user-defined custom init command")
