"""Config's typed attributes and the option table are one list: no option without a type, no default elsewhere."""

from __future__ import annotations

import types
import typing

from toil.options import common as opts
from toil.runtime.config import Config

IDENTITY = {"jobStore", "workflowID", "workflowAttemptNumber", "config"}


def _conforms(value: object, hint: object) -> bool:
    origin = typing.get_origin(hint)
    if hint is typing.Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, dict):
        return isinstance(value, origin)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typing.cast(type, hint))


def test_every_option_has_a_typed_attribute_and_nothing_else_does():
    hints = typing.get_type_hints(Config)
    assert set(hints) - IDENTITY == set(opts.defaults())


def test_defaults_come_from_the_table_and_fit_their_types():
    hints = typing.get_type_hints(Config)
    config = Config()
    for dest, default in opts.defaults().items():
        assert getattr(config, dest) == default, dest
        assert _conforms(default, hints[dest]), (dest, default, hints[dest])


def test_a_stored_config_missing_newer_options_reads_back_with_their_defaults():
    stored = Config().to_json()
    del stored["maxLogFileSize"]
    del stored["retry_backoff_factor"]
    config = Config.from_json(stored)
    assert config.maxLogFileSize == 100 * 1024 * 1024
    assert config.retry_backoff_factor == 3.0
