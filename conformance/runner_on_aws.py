#!/usr/bin/env python3
"""toil-cwl-runner with a fresh aws: job store per run, for `cwl_conformance.py --store aws` (cwltest runs this
as its tool). The environment (TOIL_S3_HOST, ...) points the store at the S3 stand-in."""

import os
import sys
import uuid

runner = os.path.join(os.path.dirname(sys.executable), "toil-cwl-runner")
os.execv(runner, [runner, "--jobStore", f"aws:us-west-2:cwl-{uuid.uuid4().hex[:24]}", *sys.argv[1:]])
