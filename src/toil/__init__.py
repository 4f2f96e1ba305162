"""A workflow engine running Toil Python workflows, CWL and WDL on one job DAG.

The package is importable as ``toil`` so that scripts written for Toil run
unchanged. Public facades live at Toil's import paths (``toil.job``,
``toil.common``, ``toil.fileStores`` ...); the real code lives in
``toil.compiler`` (front ends to the IR) and ``toil.runtime`` (the executor).
The helpers Toil keeps at the package's top (``toil.physicalMemory`` ...) come from ``toil.lib``.
"""

from toil.lib.appliance import applianceSelf, customDockerInitCmd, customInitCmd, lookupEnvVar
from toil.lib.host import physical_disk as physicalDisk
from toil.lib.host import physical_memory, which
from toil.lib.memoize import memoize
from toil.lib.packaging import inVirtualEnv, resolveEntryPoint, toilPackageDirPath
from toil.version import version as __version__

physicalMemory = memoize(physical_memory)

__all__ = [
    "__version__",
    "physicalMemory",
    "physicalDisk",
    "which",
    "toilPackageDirPath",
    "inVirtualEnv",
    "resolveEntryPoint",
    "applianceSelf",
    "customDockerInitCmd",
    "customInitCmd",
    "lookupEnvVar",
]
