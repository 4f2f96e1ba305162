"""Command-line entry points: toil, _toil_worker (later: toil-cwl-runner, toil-wdl-runner)."""
