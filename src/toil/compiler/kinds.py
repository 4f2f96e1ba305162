"""The node kinds the built-in front ends compile, and the function a worker runs each with.

The runtime reads this table through toil/runtime/kinds.py (and a plugin's
front end adds its own kinds there); module paths keep a worker from
importing a front end before a node of its kind arrives.
"""

from __future__ import annotations

BUILTIN_KINDS: dict[str, str] = {
    "python": "toil.compiler.python.runner:run_python",
    "service": "toil.compiler.python.runner:run_service",
    "cwl": "toil.compiler.cwl.runner:run_cwl",
    "wdl": "toil.compiler.wdl.runner:run_wdl",
}
