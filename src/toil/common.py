"""Toil's ``toil.common``: the ``Toil`` context manager, ``Config`` and ``addOptions``.

A thin facade: the work happens in ``toil.runtime.workflow``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from types import TracebackType
from typing import Any, Optional

from toil.exceptions import ToilUserError
from toil.options.common import add_options
from toil.runtime.config import Config
from toil.runtime.errors import install_excepthook
from toil.runtime.jobstores.locator import build_locator, normalize_locator, parse_locator
from toil.runtime.observe.logs import set_logging_from_options
from toil.runtime.worker.filestore import FileID
from toil.runtime.workflow import Workflow

log = logging.getLogger(__name__)
install_excepthook()


def addOptions(
    parser: argparse.ArgumentParser, jobstore_as_flag: bool = False, cwl: bool = False, wdl: bool = False
) -> None:
    """Add Toil's workflow options to an argparse parser."""
    add_options(parser, jobstore_as_flag=jobstore_as_flag)


def parser_with_common_options(
    provisioner_options: bool = False,
    jobstore_option: bool = True,
    prog: Optional[str] = None,
    default_log_level: Optional[int] = None,
) -> Any:
    from toil.options.parser import ToilArgumentParser

    parser = ToilArgumentParser(prog=prog)
    if jobstore_option:
        parser.add_argument("jobStore", help="The job store: file:PATH or a bare PATH.")
    parser.add_argument("--logLevel", default="INFO")
    return parser


class Toil:
    """Run a workflow: ``with Toil(options) as toil: toil.start(rootJob)`` (or ``toil.restart()``)."""

    def __init__(self, options: argparse.Namespace) -> None:
        if not hasattr(options, "__dict__") or isinstance(options, type):
            raise ToilUserError(
                f"Toil() needs the parsed options (Job.Runner.getDefaultOptions(JOBSTORE) or "
                f"Job.Runner.getDefaultArgumentParser().parse_args()), got {type(options).__name__}"
            )
        self.options = options
        self.config = Config()
        self.config.setOptions(options)
        if not self.config.jobStore:
            raise ToilUserError("no job store given: pass a path or file:PATH")
        self._workflow: Optional[Workflow] = None
        self._inside = False

    def __enter__(self) -> "Toil":
        set_logging_from_options(self.config)
        from toil.compiler.python.launch import read_python_root

        self._workflow = Workflow(self.config)
        self._workflow.root_reader = read_python_root
        self._workflow.open()
        self._inside = True
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self._inside = False
        if self._workflow is not None:
            self._workflow.close(failed=exc_type is not None)

    def _require(self) -> Workflow:
        if self._workflow is None or not self._inside:
            raise ToilUserError("use Toil inside a 'with Toil(options) as toil:' block")
        return self._workflow

    def start(self, rootJob: Any) -> Any:
        """Run the workflow rooted at rootJob; return the root job's return value."""
        from toil.compiler.python.launch import start_python

        return start_python(self._require(), rootJob)

    def restart(self) -> Any:
        """Resume the workflow in the job store; return the root job's return value."""
        return self._require().restart()

    def import_file(
        self, src_uri: str, shared_file_name: Optional[str] = None, symlink: bool = True, check_existence: bool = True
    ) -> Any:
        return self._require().import_file(src_uri, shared_file_name, symlink, check_existence)

    def importFile(self, srcUrl: str, sharedFileName: Optional[str] = None, symlink: bool = True) -> Any:
        return self.import_file(srcUrl, sharedFileName, symlink)

    def export_file(self, file_id: Any, dst_uri: str) -> None:
        self._require().export_file(file_id, dst_uri)

    def exportFile(self, jobStoreFileID: Any, dstUrl: str) -> None:
        self.export_file(jobStoreFileID, dstUrl)

    @property
    def _jobStore(self) -> Any:
        return self._require().job_store

    # Toil's static helpers
    @staticmethod
    def parseLocator(locator: str) -> tuple[str, str]:
        return parse_locator(locator)

    @staticmethod
    def buildLocator(name: str, rest: str) -> str:
        return build_locator(name, rest)

    @staticmethod
    def getToilWorkDir(configWorkDir: Optional[str] = None) -> str:
        return configWorkDir or os.environ.get("TOIL_WORKDIR") or tempfile.gettempdir()

    @classmethod
    def getJobStore(cls, locator: str) -> Any:
        from toil.runtime.jobstores import open_job_store

        return open_job_store(normalize_locator(locator))

    @staticmethod
    def resumeJobStore(locator: str) -> Any:
        from toil.runtime.jobstores import open_job_store

        js = open_job_store(normalize_locator(locator))
        js.read_meta()
        return js


__all__ = ["Toil", "Config", "FileID", "addOptions", "parser_with_common_options"]
