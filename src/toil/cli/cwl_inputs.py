"""Check the shape of a CWL job order before cwltool walks it.

cwltool and schema-salad assume a job order's File and Directory objects are
well formed: a ``path`` that is a mapping, a ``class`` that is a list, or an
empty key crash them ("Unhandled error: unhashable type: 'CommentedMap'").
This check names the input and the field instead, in one line.
"""

from __future__ import annotations

from typing import Any, Iterator

STRING_FIELDS = ("location", "path", "basename", "dirname", "nameroot", "nameext", "contents", "checksum", "format")
NOT_NULL = ("location", "path", "format", "contents")  # cwltool reads these without checking for null
LIST_FIELDS = ("secondaryFiles", "listing")


def problems(value: Any, where: str = "") -> Iterator[str]:
    """What is malformed in a job order value, as 'input.path: problem' (depth first)."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or not key:
                yield f"{where or 'the job order'}: a key is {key!r:.40}: keys must be non-empty strings"
                return
        cls = value.get("class")
        if "class" in value and not isinstance(cls, str):
            yield f"{where or 'the job order'}: 'class' must be File or Directory, got {_kind(cls)}"
            return
        if cls in ("File", "Directory"):
            yield from _file_problems(value, cls, where)
        for key, item in value.items():
            yield from problems(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from problems(item, f"{where}[{i}]")


def _file_problems(obj: dict[str, Any], cls: str, where: str) -> Iterator[str]:
    where = where or "the job order"
    for key in STRING_FIELDS:
        if key in obj and not isinstance(obj[key], str) and (obj[key] is not None or key in NOT_NULL):
            yield f"{where}: a {cls}'s '{key}' must be a string, got {_kind(obj[key])}"
        elif key in ("location", "path") and obj.get(key) == "":
            yield f"{where}: a {cls}'s '{key}' is empty"
    size = obj.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        yield f"{where}: a {cls}'s 'size' must be an integer, got {_kind(size)}"
    for key in LIST_FIELDS:
        items = obj.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(
            isinstance(x, dict) and isinstance(x.get("class"), str) for x in items
        ):
            yield f"{where}: a {cls}'s '{key}' must be a list of File or Directory objects, got {_kind(items)}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r:.40}"


def patch_job_order_loading() -> None:
    """Check the job order cwltool loaded (a file or stdin) before it is used; a bad one ends in one line."""
    import sys

    import cwltool.main
    from cwltool.loghandler import _logger

    original = cwltool.main.load_job_order
    if getattr(original, "_toil_checked", False):
        return

    def load_job_order(args: Any, *rest: Any, **kwargs: Any) -> Any:
        result = original(args, *rest, **kwargs)
        try:
            found = next(problems(result[0]), None) if result[0] is not None else None
        except RecursionError:
            found = "it is nested too deeply"
        if found is not None:
            source = args.job_order[0] if getattr(args, "job_order", None) else "the job order"
            _logger.error("CWL input object at %s is not valid: %s", source, found)
            sys.exit(1)
        return result

    original_init = cwltool.main.init_job_order

    def init_job_order(job_order_object: Any, args: Any, *rest: Any, **kwargs: Any) -> Any:
        """cwltool's, with a crash inside cwltool on a malformed input (or default) reported as a mistake."""
        from toil.cli.cwl_log import upstream_crash

        try:
            return original_init(job_order_object, args, *rest, **kwargs)
        except Exception as e:
            converted = upstream_crash(e, f"the inputs of {getattr(args, 'workflow', None) or 'the document'}")
            if converted is None:
                raise
            raise converted from e

    setattr(load_job_order, "_toil_checked", True)
    cwltool.main.load_job_order = load_job_order
    cwltool.main.init_job_order = init_job_order
