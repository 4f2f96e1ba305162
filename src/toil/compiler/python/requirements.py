"""Resource requirements of Python jobs, parsed the way Toil parses them."""

from __future__ import annotations

import math
import reprlib
from typing import TYPE_CHECKING, Any, Mapping, Union

from toil.compiler.ir import RESOURCE_NAMES
from toil.lib.conversions import human2bytes

if TYPE_CHECKING:
    from toil.compiler.python.promise import PromisedRequirement

REQUIREMENT_NAMES = RESOURCE_NAMES

_KINDS = {"gpu"}
_BRANDS = {"nvidia", "amd"}
_APIS = {"cuda", "rocm", "opencl"}

# A parsed requirement: memory and disk in bytes (int), cores (int or float), preemptible (bool),
# accelerators (a list of parse_accelerator's dicts).
RequirementValue = Union[int, float, bool, list[dict[str, Any]]]
# What a job keeps per requirement name: a parsed value, or a PromisedRequirement until it is known.
Requirement = Union[RequirementValue, "PromisedRequirement"]


def parse_accelerator(spec: Any) -> dict[str, Any]:
    """Parse one accelerator requirement: 2, '1', 'gpu', 'cuda:1', 'nvidia-tesla-k80:2', or a dict."""
    parsed: dict[str, Any] = {"count": 1, "kind": "gpu"}
    if isinstance(spec, bool):
        raise TypeError(f"cannot parse {reprlib.repr(spec)} as an accelerator requirement")
    if isinstance(spec, int):
        parsed["count"] = spec
    elif isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) > 2 or not spec:
            raise ValueError(f"cannot parse accelerator requirement {reprlib.repr(spec)}")
        description: str | None
        try:
            parsed["count"] = int(parts[-1])
            description = parts[0] if len(parts) > 1 else None
        except ValueError:
            if len(parts) == 2:
                raise ValueError(f"cannot parse the count in accelerator requirement {reprlib.repr(spec)}") from None
            description = parts[0]
        if description in _KINDS:
            parsed["kind"] = description
        elif description in _BRANDS:
            parsed["brand"] = description
        elif description in _APIS:
            parsed["api"] = description
        elif description:
            parsed["model"] = description
    elif isinstance(spec, Mapping):
        parsed.update(spec)
    else:
        raise TypeError(f"cannot parse a {type(spec).__name__} as an accelerator requirement")
    if parsed.get("kind") == "gpu" and "brand" not in parsed:
        model = parsed.get("model", "")
        for brand in _BRANDS:
            if isinstance(model, str) and model.startswith(brand):
                parsed["brand"] = brand
        if parsed.get("api") == "cuda":
            parsed["brand"] = "nvidia"
        elif parsed.get("api") == "rocm":
            parsed["brand"] = "amd"
    if not isinstance(parsed["count"], int) or parsed["count"] < 0:
        raise ValueError(f"accelerator count must be a non-negative integer, got {reprlib.repr(parsed['count'])}")
    return parsed


def parse_requirement(name: str, value: Any) -> RequirementValue | None:
    """Validate and normalise one requirement value (None stays None)."""
    if value is None:
        return None
    return _parse_set_requirement(name, value)


def _parse_set_requirement(name: str, value: Any) -> RequirementValue:
    """Validate and normalise one requirement value that is not None."""
    if name in ("memory", "disk"):
        if isinstance(value, bool):
            raise TypeError(f"the {name!r} requirement does not accept {reprlib.repr(value)}")
        if isinstance(value, (str, bytes)):
            value = human2bytes(value.decode() if isinstance(value, bytes) else value)
        if not isinstance(value, (int, float)):
            raise TypeError(f"the {name!r} requirement does not accept values of type {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"the {name!r} requirement must be a finite number, got {reprlib.repr(value)}")
        if value < 0:
            raise ValueError(f"the {name!r} requirement must not be negative, got {reprlib.repr(value)}")
        return int(value)
    if name == "cores":
        if isinstance(value, bool):
            raise TypeError(f"the 'cores' requirement does not accept {reprlib.repr(value)}")
        if isinstance(value, str):
            value = float(value)
        if not isinstance(value, (int, float)):
            raise TypeError(f"the 'cores' requirement does not accept values of type {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"the 'cores' requirement must be a finite number, got {reprlib.repr(value)}")
        if value < 0:
            raise ValueError(f"the 'cores' requirement must not be negative, got {reprlib.repr(value)}")
        return value
    if name == "preemptible":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(f"the 'preemptible' requirement must be true or false, got {reprlib.repr(value)}")
        if isinstance(value, (bool, int)) and value in (0, 1):
            return bool(value)
        raise TypeError(f"the 'preemptible' requirement does not accept {reprlib.repr(value)}")
    if name == "accelerators":
        if isinstance(value, (str, int, Mapping)):
            value = [value]
        return [parse_accelerator(v) for v in value]
    raise KeyError(name)


def parse_requirements(values: Mapping[str, Any]) -> dict[str, Requirement]:
    """The explicitly set requirements, parsed; unset ones are omitted."""
    from toil.compiler.python.promise import PromisedRequirement

    out: dict[str, Requirement] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, PromisedRequirement):
            out[name] = value
            continue
        try:
            out[name] = _parse_set_requirement(name, value)
        except (TypeError, ValueError) as e:
            text = str(e)
            raise type(e)(text if repr(name) in text else f"{name}: {text}") from None
    return out
