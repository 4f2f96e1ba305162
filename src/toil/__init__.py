"""A workflow engine running Toil Python workflows, CWL and WDL on one job DAG.

The package is importable as ``toil`` so that scripts written for Toil run
unchanged. Public facades live at Toil's import paths (``toil.job``,
``toil.common``, ``toil.fileStores`` ...); the real code lives in
``toil.compiler`` (front ends to the IR) and ``toil.runtime`` (the executor).
"""
from toil.version import version as __version__

__all__ = ["__version__"]
