"""Toil's ``toil.job``: the job API (a facade over ``toil.compiler.python``)."""

from toil.compiler.python.job import (
    ConflictingPredecessorError,
    EncapsulatedJob,
    FunctionWrappingJob,
    Job,
    JobDescription,
    JobException,
    JobFunctionWrappingJob,
    JobGraphDeadlockException,
    PromisedRequirementFunctionWrappingJob,
    PromisedRequirementJobFunctionWrappingJob,
    ServiceHostJob,
    unwrap,
    unwrap_all,
)
from toil.compiler.python.promise import JobPromiseConstraintError, Promise, PromisedRequirement, PromiseNotReadyError
from toil.compiler.python.requirements import REQUIREMENT_NAMES, parse_accelerator
from toil.runtime.errors import install_excepthook
from toil.runtime.worker.filestore import FileID

install_excepthook()

Promised = object

__all__ = [
    "Job",
    "JobException",
    "JobGraphDeadlockException",
    "ConflictingPredecessorError",
    "FunctionWrappingJob",
    "JobFunctionWrappingJob",
    "PromisedRequirementFunctionWrappingJob",
    "PromisedRequirementJobFunctionWrappingJob",
    "EncapsulatedJob",
    "ServiceHostJob",
    "Promise",
    "PromisedRequirement",
    "JobPromiseConstraintError",
    "PromiseNotReadyError",
    "JobDescription",
    "parse_accelerator",
    "REQUIREMENT_NAMES",
    "unwrap",
    "unwrap_all",
    "FileID",
]
