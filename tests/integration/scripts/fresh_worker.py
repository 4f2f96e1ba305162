"""Compile a job whose class lives in __main__, then run it through _toil_worker in a fresh interpreter."""

import json
import os
import subprocess
import sys

from toil.compiler.python.compile import compile_graph
from toil.job import Job
from toil.runtime.config import Config
from toil.runtime.jobstores.file.store import FileJobStore


class Doubler(Job):
    def __init__(self, x):
        Job.__init__(self, memory="10M", cores=1, disk="1M")
        self.x = x

    def run(self, fileStore):
        fileStore.log_to_leader("doubling")
        return self.addChildFn(str, self.x * 2).rv()


if __name__ == "__main__":
    where = sys.argv[1]
    config = Config()
    config.workflowID = "fresh-worker-test"
    config.workDir = where
    js = FileJobStore(os.path.join(where, "js"))
    js.create({"workflow_id": config.workflowID, "config": config.to_json()})
    compiled = compile_graph(Doubler(21), config)
    js.write_pack(compiled.pack_name, compiled.pack)
    spec = compiled.specs[0]
    spec.keep_return = True
    message = {
        "token": f"{spec.id}.0",
        "spec": spec.to_json(),
        "epoch": 0,
        "alloc": spec.resources.to_json(),
        "next": None,
        "main": os.path.abspath(__file__),
    }
    with open(os.path.join(where, "message.json"), "w") as f:
        json.dump(message, f)
    code = subprocess.call(["_toil_worker", js.locator, os.path.join(where, "message.json")])
    print("EXIT", code)
    print("RESULT", js.read_result(f"{spec.id}.0").decode())
