"""Toil's Python job API: ``Job`` and its helpers, building a graph of job objects.

These classes only record a graph; ``compile.py`` turns it into IR nodes and
``runner.py`` runs one node in a worker. Names and signatures are Toil's so
that existing workflow scripts run unchanged.
"""

from __future__ import annotations

import abc
import inspect
import logging
import reprlib
from argparse import ArgumentParser, Namespace, _ArgumentGroup
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, TypeVar, cast

from toil.compiler.python.promise import JobPromiseConstraintError, Promise, PromisedRequirement
from toil.compiler.python.requirements import Requirement, parse_requirements
from toil.exceptions import ToilUserError

if TYPE_CHECKING:
    from toil.runtime.config import Config
    from toil.runtime.worker.filestore import AbstractFileStore

_R = TypeVar("_R")
_T = TypeVar("_T")
_Items = TypeVar("_Items", bound=Iterable[Any])

logger = logging.getLogger("toil.job")

# Fields that describe the graph being built; they are not part of a job's payload.
_GRAPH_FIELDS = (
    "_children",
    "_followOns",
    "_services",
    "_directPredecessors",
    "_fileStore",
    "_defer",
    "_tempDir",
    "_config",
    "_rvRequested",
    "_node_id",
)


class JobException(ToilUserError):
    """A misuse of the job API."""


class JobGraphDeadlockException(JobException):
    """The job graph can never finish: a cycle, several roots, or a checkpoint with successors."""


class ConflictingPredecessorError(JobException):
    def __init__(self, predecessor: "Job", successor: "Job") -> None:
        super().__init__(f"the job {successor} is already a successor of {predecessor}")


class _Requirements:
    """Requirement properties shared by jobs and services: explicit values, else the workflow's defaults."""

    _requirements: dict[str, Requirement]
    _config: Config | None

    def _requirement(self, name: str, default_attr: str, builtin: _R) -> _R:
        """The explicit value (parse_requirement made it the type of ``builtin``, unless it is still a
        PromisedRequirement), else the workflow's default ``config.<default_attr>``, else ``builtin``."""
        if name in self._requirements:
            return cast(_R, self._requirements[name])
        config = getattr(self, "_config", None)
        return cast(_R, getattr(config, default_attr)) if config is not None else builtin

    @property
    def memory(self) -> int:
        return self._requirement("memory", "defaultMemory", 2 * 1024**3)

    @memory.setter
    def memory(self, value: Any) -> None:
        self._requirements.update(parse_requirements({"memory": value}))

    @property
    def cores(self) -> float:
        return self._requirement("cores", "defaultCores", 1)

    @cores.setter
    def cores(self, value: Any) -> None:
        self._requirements.update(parse_requirements({"cores": value}))

    @property
    def disk(self) -> int:
        return self._requirement("disk", "defaultDisk", 2 * 1024**3)

    @disk.setter
    def disk(self, value: Any) -> None:
        self._requirements.update(parse_requirements({"disk": value}))

    @property
    def accelerators(self) -> list[dict[str, Any]]:
        return self._requirement("accelerators", "defaultAccelerators", [])

    @accelerators.setter
    def accelerators(self, value: Any) -> None:
        self._requirements.update(parse_requirements({"accelerators": value}))

    @property
    def preemptible(self) -> bool:
        return bool(self._requirement("preemptible", "defaultPreemptible", False))

    @preemptible.setter
    def preemptible(self, value: Any) -> None:
        self._requirements.update(parse_requirements({"preemptible": value}))

    @property
    def preemptable(self) -> bool:
        return self.preemptible

    @property
    def requirements(self) -> dict[str, Any]:
        return dict(self._requirements)

    def assignConfig(self, config: Config) -> None:
        self._config = config


class JobDescription:
    """A read-only view of a job's scheduling information (Toil's ``job.description``)."""

    def __init__(self, job: "Job") -> None:
        self._job = job

    @property
    def jobName(self) -> str:
        return self._job._jobName

    @property
    def displayName(self) -> str:
        return self._job._displayName

    @property
    def unitName(self) -> str:
        return self._job._unitName

    @property
    def jobStoreID(self) -> Optional[str]:
        return self._job.jobStoreID

    @property
    def memory(self) -> int:
        return self._job.memory

    @property
    def cores(self) -> float:
        return self._job.cores

    @property
    def disk(self) -> int:
        return self._job.disk

    @property
    def accelerators(self) -> list[dict[str, Any]]:
        return self._job.accelerators

    @property
    def preemptible(self) -> bool:
        return self._job.preemptible

    @property
    def requirements(self) -> dict[str, Any]:
        return self._job.requirements

    def __str__(self) -> str:
        name = f"'{self.displayName}'"
        if self.unitName:
            name += f" {self.unitName}"
        return f"{name} {self.jobStoreID}" if self.jobStoreID else name


class Job(_Requirements):
    """A unit of work. Override ``run``; add successors with ``addChild``/``addFollowOn``."""

    def __init__(
        self,
        memory: Any = None,
        cores: Any = None,
        disk: Any = None,
        accelerators: Any = None,
        preemptible: Any = None,
        preemptable: Any = None,
        unitName: Optional[str] = "",
        checkpoint: bool = False,
        displayName: Optional[str] = "",
        descriptionClass: Any = None,
        local: Optional[bool] = None,
        files: Any = None,
    ) -> None:
        if preemptable is not None and preemptible is None:
            preemptible = preemptable
        for key, name in (("unitName", unitName), ("displayName", displayName)):
            if name is not None and not isinstance(name, str):
                raise JobException(
                    f"{key} of job {type(self).__name__} must be a string, got "
                    f"{type(name).__name__} {reprlib.repr(name)}"
                )
        try:
            self._requirements = parse_requirements(
                {
                    "memory": memory,
                    "cores": cores,
                    "disk": disk,
                    "accelerators": accelerators,
                    "preemptible": preemptible,
                }
            )
        except (TypeError, ValueError) as e:
            raise JobException(f"bad requirement for job {type(self).__name__}: {e}") from None
        self._config = None
        self._checkpoint = bool(checkpoint)
        self._jobName = type(self).__name__
        self._unitName = unitName or ""
        self._displayName = displayName or self._jobName
        self._local = local
        self._children: list[Job] = []
        self._followOns: list[Job] = []
        self._services: list[tuple[ServiceHostJob, Optional[ServiceHostJob]]] = []
        self._directPredecessors: list[Job] = []
        self._node_id: Optional[str] = None
        self._fileStore: Optional[AbstractFileStore] = None
        self._defer: Optional[Callable[..., None]] = None
        self._tempDir: Optional[str] = None
        self._rvRequested = False

    # -- identity
    def __str__(self) -> str:
        return str(self.description)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._displayName!r}{' ' + self._node_id if self._node_id else ''}>"

    @property
    def description(self) -> JobDescription:
        return JobDescription(self)

    @property
    def jobStoreID(self) -> Optional[str]:
        return self._node_id

    @property
    def displayName(self) -> str:
        return self._displayName

    @property
    def unitName(self) -> str:
        return self._unitName

    @property
    def jobName(self) -> str:
        return self._jobName

    @property
    def checkpoint(self) -> bool:
        return self._checkpoint

    # -- the work
    def run(self, fileStore: Any) -> Any:
        """Override to do the job's work and add successors; the return value is what rv() promises."""
        return None

    def _run(self, jobGraph: Any = None, fileStore: Any = None, **kwargs: Any) -> Any:
        return self.run(fileStore)

    @property
    def fileStore(self) -> Any:
        return self._fileStore

    @property
    def tempDir(self) -> str:
        if self._tempDir is None:
            if self._fileStore is None:
                raise JobException("tempDir is only available while the job runs")
            self._tempDir = self._fileStore.getLocalTempDir()
        return self._tempDir

    def log(self, text: str, level: int = logging.INFO) -> None:
        """Send a message to the leader's log."""
        if self._fileStore is None:
            logger.log(level, text)
        else:
            self._fileStore.log_to_leader(text, level)

    def defer(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call function(*args, **kwargs) when this attempt of the job ends, even if its process dies."""
        if self._defer is None:
            raise JobException("a deferred function can only be registered while the job runs")
        self._defer(function, *args, **kwargs)

    # -- building the graph
    def _addPredecessor(self, predecessor: "Job") -> None:
        if any(p is predecessor for p in self._directPredecessors):
            raise ConflictingPredecessorError(predecessor, self)
        self._directPredecessors.append(predecessor)

    def _check_job(self, other: object) -> None:
        if not isinstance(other, Job):
            raise JobException(f"expected a Job, got {type(other).__name__}: {reprlib.repr(other)}")
        if other is self:
            raise JobGraphDeadlockException(f"the job {self} cannot be its own successor")
        if isinstance(other, ServiceHostJob):
            raise JobException("service host jobs are added with addService, not as successors")

    def addChild(self, childJob: "Job") -> "Job":
        """Run childJob after this job's run() has finished. Returns childJob."""
        self._check_job(childJob)
        childJob._addPredecessor(self)
        self._children.append(childJob)
        return childJob

    def addFollowOn(self, followOnJob: "Job") -> "Job":
        """Run followOnJob after this job and all its children's subtrees. Returns followOnJob."""
        self._check_job(followOnJob)
        followOnJob._addPredecessor(self)
        self._followOns.append(followOnJob)
        return followOnJob

    def hasChild(self, childJob: "Job") -> bool:
        return any(c is childJob for c in self._children)

    def hasFollowOn(self, followOnJob: "Job") -> bool:
        return any(c is followOnJob for c in self._followOns)

    def hasPredecessor(self, job: "Job") -> bool:
        return any(p is job for p in self._directPredecessors)

    def addService(self, service: "Job.Service", parentService: Optional["Job.Service"] = None) -> Promise:
        """Start service after this job runs and before its successors; return a promise of start()'s value."""
        if not isinstance(service, Job.Service):
            raise JobException(f"addService needs a Job.Service, got {type(service).__name__}")
        if service._host is not None:
            raise JobException("the service has already been added to a job")
        parent_host = None
        if parentService is not None:
            if not self.hasService(parentService):
                raise JobException("the parent service is not a service of this job")
            parent_host = parentService._host
        host = ServiceHostJob(service)
        self._services.append((host, parent_host))
        return host.rv()

    def hasService(self, service: "Job.Service") -> bool:
        return any(h.service is service for h, _ in self._services)

    def addChildFn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "FunctionWrappingJob":
        return self.addChild(Job.wrapFn(fn, *args, **kwargs))  # type: ignore[return-value]

    def addFollowOnFn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "FunctionWrappingJob":
        return self.addFollowOn(Job.wrapFn(fn, *args, **kwargs))  # type: ignore[return-value]

    def addChildJobFn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "FunctionWrappingJob":
        return self.addChild(Job.wrapJobFn(fn, *args, **kwargs))  # type: ignore[return-value]

    def addFollowOnJobFn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "FunctionWrappingJob":
        return self.addFollowOn(Job.wrapJobFn(fn, *args, **kwargs))  # type: ignore[return-value]

    @staticmethod
    def wrapFn(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "Job":
        """A job that calls fn(*args, **kwargs); see FunctionWrappingJob for requirement keywords."""
        if PromisedRequirement.convertPromises(kwargs):
            return PromisedRequirementFunctionWrappingJob.create(fn, *args, **kwargs)
        return FunctionWrappingJob(fn, *args, **kwargs)

    @staticmethod
    def wrapJobFn(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "Job":
        """A job that calls fn(job, *args, **kwargs)."""
        if PromisedRequirement.convertPromises(kwargs):
            return PromisedRequirementJobFunctionWrappingJob.create(fn, *args, **kwargs)
        return JobFunctionWrappingJob(fn, *args, **kwargs)

    def encapsulate(self, name: Optional[str] = None) -> "EncapsulatedJob":
        """A job whose successors run after this job's whole subtree."""
        return EncapsulatedJob(self, unitName=name)

    def rv(self, *path: Any) -> Promise:
        """A promise of this job's return value, or of the part of it that path indexes."""
        self._rvRequested = True
        return Promise(self, path)

    # -- graph queries (Toil's names)
    def _successors(self) -> Iterator["Job"]:
        yield from self._children
        yield from self._followOns
        for host, _ in self._services:
            yield host

    def getRootJobs(self) -> set["Job"]:
        """The jobs of this job's connected graph that have no predecessors."""
        from toil.compiler.python.compile import connected_jobs

        return {j for j in connected_jobs(self) if not j._directPredecessors and not isinstance(j, ServiceHostJob)}

    def checkJobGraphForDeadlocks(self) -> None:
        from toil.compiler.python.compile import check_graph, connected_jobs

        roots = self.getRootJobs()
        if len(roots) != 1:
            raise JobGraphDeadlockException(
                f"the job graph does not contain exactly one root job: {', '.join(map(str, roots)) or 'none (a cycle)'}"
            )
        check_graph(next(iter(roots)), [j for j in connected_jobs(self) if j._node_id is None])

    checkJobGraphAcylic = checkJobGraphForDeadlocks
    checkJobGraphConnected = checkJobGraphForDeadlocks
    checkNewCheckpointsAreLeafVertices = checkJobGraphForDeadlocks

    def getTopologicalOrderingOfJobs(self) -> list["Job"]:
        from toil.compiler.python.compile import topological_order

        return topological_order(self)

    def getUserScript(self) -> Optional[ModuleType]:
        import sys

        return sys.modules.get(type(self).__module__)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _GRAPH_FIELDS:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._children, self._followOns, self._services, self._directPredecessors = [], [], [], []
        self._fileStore = self._defer = self._tempDir = self._config = None
        self._rvRequested = False
        self._node_id = None

    # -- nested API classes (Toil's Job.Runner and Job.Service)
    class Runner:
        """Set up and run a workflow (Toil's Job.Runner)."""

        @staticmethod
        def getDefaultArgumentParser(jobstore_as_flag: bool = False) -> ArgumentParser:
            from toil.options.parser import ToilArgumentParser

            parser = ToilArgumentParser()
            Job.Runner.addToilOptions(parser, jobstore_as_flag=jobstore_as_flag)
            return parser

        @staticmethod
        def getDefaultOptions(jobStore: Optional[str] = None, jobstore_as_flag: bool = False) -> Namespace:
            parser = Job.Runner.getDefaultArgumentParser(jobstore_as_flag=jobstore_as_flag or jobStore is None)
            args = [] if jobStore is None else (["--jobStore", jobStore] if jobstore_as_flag else [jobStore])
            return parser.parse_args(args)

        @staticmethod
        def addToilOptions(parser: ArgumentParser | _ArgumentGroup, jobstore_as_flag: bool = False) -> None:
            from toil.options.common import add_options

            add_options(parser, jobstore_as_flag=jobstore_as_flag)

        @staticmethod
        def startToil(job: "Job", options: Namespace) -> Any:
            """Run the workflow rooted at job (or restart it with --restart) and return the root's value."""
            from toil.common import Toil

            with Toil(options) as toil:
                if getattr(options, "restart", False):
                    return toil.restart()
                return toil.start(job)

    class Service(_Requirements, metaclass=abc.ABCMeta):
        """A long-running process (a database, a server) that jobs use; see Job.addService."""

        def __init__(
            self,
            memory: Any = None,
            cores: Any = None,
            disk: Any = None,
            accelerators: Any = None,
            preemptible: Any = None,
            unitName: Optional[str] = None,
        ) -> None:
            try:
                self._requirements = parse_requirements(
                    {
                        "memory": memory,
                        "cores": cores,
                        "disk": disk,
                        "accelerators": accelerators,
                        "preemptible": preemptible,
                    }
                )
            except (TypeError, ValueError) as e:
                raise JobException(f"bad requirement for service {type(self).__name__}: {e}") from None
            self._config = None
            self.unitName = unitName
            self.jobName = type(self).__name__
            self._host: Optional[ServiceHostJob] = None

        @property
        def hostID(self) -> Optional[str]:
            return self._host._node_id if self._host is not None else None

        @abc.abstractmethod
        def start(self, job: "Job") -> Any:
            """Start the service; return what jobs need to reach it (must pickle)."""

        @abc.abstractmethod
        def stop(self, job: "Job") -> None:
            """Stop the service."""

        def check(self) -> bool:
            """Return True while the service is fine; raise RuntimeError if it failed."""
            return True

        def __getstate__(self) -> dict[str, Any]:
            state = dict(self.__dict__)
            state["_host"] = None
            state["_config"] = None
            return state


class FunctionWrappingJob(Job):
    """A job that calls a function: fn(*args, **kwargs).

    The keywords memory, cores, disk, accelerators, preemptible (or
    preemptable), checkpoint and name are requirements, not arguments; when
    absent they come from the function's own defaults for those names.
    """

    def __init__(self, userFunction: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(userFunction):
            raise JobException(f"expected a function to wrap, got {type(userFunction).__name__}")
        try:
            spec = inspect.getfullargspec(userFunction)
            fn_defaults = dict(zip(spec.args[-len(spec.defaults) :], spec.defaults)) if spec.defaults else {}
            fn_defaults.update(spec.kwonlydefaults or {})
        except TypeError:
            fn_defaults = {}

        def take(key: str, default: Any = None) -> Any:
            if key in kwargs:
                return kwargs.pop(key)
            return fn_defaults.get(key, default)

        preemptable = take("preemptable")
        preemptible = take("preemptible")
        super().__init__(
            memory=take("memory"),
            cores=take("cores"),
            disk=take("disk"),
            accelerators=take("accelerators"),
            preemptible=preemptible if preemptible is not None else preemptable,
            checkpoint=take("checkpoint", False),
            unitName=take("name"),
            displayName=kwargs.pop("displayName", None) if "displayName" in kwargs else None,
        )
        self.userFunction = userFunction
        self._jobName = getattr(userFunction, "__name__", type(userFunction).__name__)
        if self._displayName == type(self).__name__:
            self._displayName = self._jobName
        self._args = args
        self._kwargs = kwargs

    @property
    def userFunctionName(self) -> str:
        return self._jobName

    def run(self, fileStore: Any) -> Any:
        return self.userFunction(*self._args, **self._kwargs)

    def getUserScript(self) -> Optional[ModuleType]:
        import sys

        return sys.modules.get(getattr(self.userFunction, "__module__", "__main__"))


class JobFunctionWrappingJob(FunctionWrappingJob):
    """A job that calls fn(job, *args, **kwargs), so the function can add successors and use job.fileStore."""

    def run(self, fileStore: Any) -> Any:
        return self.userFunction(self, *self._args, **self._kwargs)


class PromisedRequirementFunctionWrappingJob(FunctionWrappingJob):
    """Waits for promised requirements, then runs the function as a child with the real requirements."""

    def __init__(self, userFunction: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._promisedKwargs = dict(kwargs)
        kwargs.update(dict(disk="1M", memory="32M", cores=0.1, accelerators=[], preemptible=True))
        kwargs.pop("preemptable", None)
        super().__init__(userFunction, *args, **kwargs)

    @classmethod
    def create(cls, userFunction: Callable[..., Any], *args: Any, **kwargs: Any) -> "EncapsulatedJob":
        return EncapsulatedJob(cls(userFunction, *args, **kwargs))

    def evaluatePromisedRequirements(self) -> None:
        for name, value in list(self._promisedKwargs.items()):
            if isinstance(value, PromisedRequirement):
                self._promisedKwargs[name] = value.getValue()

    def run(self, fileStore: Any) -> Any:
        self.evaluatePromisedRequirements()
        return self.addChildFn(self.userFunction, *self._args, **self._promisedKwargs).rv()


class PromisedRequirementJobFunctionWrappingJob(PromisedRequirementFunctionWrappingJob):
    def run(self, fileStore: Any) -> Any:
        self.evaluatePromisedRequirements()
        return self.addChildJobFn(self.userFunction, *self._args, **self._promisedKwargs).rv()


class EncapsulatedJob(Job):
    """Makes a job's whole subtree look like one job: successors of the wrapper run after all of it."""

    def __init__(self, job: Optional[Job], unitName: Optional[str] = None) -> None:
        if job is None:
            super().__init__()
            self.encapsulatedJob = None
            self.encapsulatedFollowOn = None
            return
        given = {k: v for k, v in job._requirements.items() if not isinstance(v, PromisedRequirement)}
        super().__init__(
            unitName=unitName,
            memory=given.get("memory"),
            cores=given.get("cores"),
            disk=given.get("disk"),
            accelerators=given.get("accelerators"),
            preemptible=given.get("preemptible"),
        )
        self._displayName = f"{job._displayName}-encapsulated" if not unitName else unitName
        for pred in list(job._directPredecessors):
            pred.addChild(self)
        self.encapsulatedJob = job
        Job.addChild(self, job)
        self.encapsulatedFollowOn = Job(
            disk="100M", memory="512M", cores=0.1, unitName=None if unitName is None else unitName + "-followOn"
        )
        Job.addFollowOn(self, self.encapsulatedFollowOn)

    def addChild(self, childJob: Job) -> Job:
        if self.encapsulatedFollowOn is None:
            raise JobException("children cannot be added to an EncapsulatedJob while it runs")
        return Job.addChild(self.encapsulatedFollowOn, childJob)

    def addFollowOn(self, followOnJob: Job) -> Job:
        if self.encapsulatedFollowOn is None:
            raise JobException("follow-ons cannot be added to an EncapsulatedJob while it runs")
        return Job.addFollowOn(self.encapsulatedFollowOn, followOnJob)

    def addService(self, service: "Job.Service", parentService: Optional["Job.Service"] = None) -> Promise:
        if self.encapsulatedFollowOn is None:
            raise JobException("services cannot be added to an EncapsulatedJob while it runs")
        return Job.addService(self.encapsulatedFollowOn, service, parentService=parentService)

    def rv(self, *path: Any) -> Promise:
        if self.encapsulatedJob is None:
            raise JobException("rv() of an EncapsulatedJob is only available where it was created")
        return self.encapsulatedJob.rv(*path)

    def __reduce__(self) -> tuple[type["EncapsulatedJob"], tuple[None]]:
        return (self.__class__, (None,))


class ServiceHostJob(Job):
    """The job that runs a service; made by Job.addService."""

    def __init__(self, service: "Job.Service") -> None:
        given = service._requirements  # requirement names only, none of them None
        super().__init__(
            unitName=service.unitName,
            memory=given.get("memory"),
            cores=given.get("cores"),
            disk=given.get("disk"),
            accelerators=given.get("accelerators"),
            preemptible=given.get("preemptible"),
        )
        self.service = service
        self._jobName = service.jobName
        self._displayName = service.jobName
        service._host = self

    def addChild(self, childJob: Job) -> Job:
        raise JobException("service host jobs cannot have children, follow-ons or services")

    def addFollowOn(self, followOnJob: Job) -> Job:
        raise JobException("service host jobs cannot have children, follow-ons or services")

    def addService(self, service: "Job.Service", parentService: Optional["Job.Service"] = None) -> Promise:
        raise JobException("service host jobs cannot have children, follow-ons or services")


def is_noop(job: Job) -> bool:
    """True for jobs with nothing to run (plain Job(), encapsulation wrappers)."""
    if isinstance(job, ServiceHostJob):
        return False
    return type(job).run is Job.run and type(job)._run is Job._run


def unwrap(p: _T | Promise) -> _T:
    if isinstance(p, Promise):
        raise TypeError(f"attempted to unwrap a value that is still a Promise: {p}")
    return p


def unwrap_all(p: _Items) -> _Items:
    for i, item in enumerate(p):
        if isinstance(item, Promise):
            raise TypeError(f"attempted to unwrap a value at index {i} that is still a Promise: {item}")
    return p


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
    "JobDescription",
    "unwrap",
    "unwrap_all",
]
