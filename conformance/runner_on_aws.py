#!/usr/bin/env python3
"""toil-cwl-runner with a fresh aws: job store per run, for `cwl_conformance.py --store aws` (cwltest runs this
as its tool). TOIL_CONFORMANCE_RUNNER names the runner; TOIL_S3_HOST, ... point the store at the S3 stand-in."""

import os
import sys
import uuid

runner = os.environ["TOIL_CONFORMANCE_RUNNER"]  # set by cwl_conformance.py: toil-cwl-runner of its virtualenv
os.execv(runner, [runner, "--jobStore", f"aws:us-west-2:cwl-{uuid.uuid4().hex[:24]}", *sys.argv[1:]])
