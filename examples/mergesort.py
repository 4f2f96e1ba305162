#!/usr/bin/env python3
"""Parallel merge sort of a text file, written with Toil's Python API.

    python examples/mergesort.py file:./jobstore --input big.txt --output sorted.txt
    python examples/mergesort.py ./jobstore --generate 200000 --output sorted.txt

The file is split in halves until pieces are at most --chunkLines lines;
each piece is sorted by its own job, and sorted halves are merged by
follow-on jobs. Files move between jobs through the job store.
"""

from __future__ import annotations

import heapq
import os
import random
import string
import sys

from toil.common import Toil
from toil.job import Job


def split_or_sort(job: Job, file_id: str, chunk_lines: int) -> str:
    """Sort a small file directly; split a large one and merge its sorted halves later."""
    path = job.fileStore.readGlobalFile(file_id)
    with open(path) as f:
        lines = f.readlines()
    if len(lines) <= chunk_lines:
        lines.sort()
        return _write_lines(job, lines)
    middle = len(lines) // 2
    halves = [
        job.addChildJobFn(split_or_sort, _write_lines(job, part), chunk_lines, memory="200M", disk="200M", cores=1).rv()
        for part in (lines[:middle], lines[middle:])
    ]
    return job.addFollowOnJobFn(merge, halves[0], halves[1], memory="200M", disk="400M", cores=1).rv()


def merge(job: Job, left_id: str, right_id: str) -> str:
    """Merge two sorted files into one."""
    out_path = job.fileStore.getLocalTempFile()
    with (
        open(job.fileStore.readGlobalFile(left_id)) as left,
        open(job.fileStore.readGlobalFile(right_id)) as right,
        open(out_path, "w") as out,
    ):
        out.writelines(heapq.merge(left, right))
    return job.fileStore.writeGlobalFile(out_path, cleanup=False)


def _write_lines(job: Job, lines: list[str]) -> str:
    path = job.fileStore.getLocalTempFile()
    with open(path, "w") as f:
        f.writelines(lines)
    return job.fileStore.writeGlobalFile(path)


def generate(path: str, lines: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(lines):
            f.write("".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 30))) + "\n")


def main() -> None:
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--input", help="The text file to sort.")
    parser.add_argument("--generate", type=int, metavar="N", help="Sort N generated random lines instead.")
    parser.add_argument("--output", default="sorted.txt", help="Where to write the sorted file.")
    parser.add_argument("--chunkLines", type=int, default=20000, help="Sort pieces of at most this many lines.")
    options = parser.parse_args()
    if not options.input and not options.generate:
        parser.error("give --input FILE or --generate N")
    output = os.path.abspath(options.output)
    with Toil(options) as toil:
        if options.restart:
            sorted_id = toil.restart()
        else:
            source = options.input
            if options.generate:
                os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
                source = output + ".unsorted"
                generate(source, options.generate)
            file_id = toil.import_file(os.path.abspath(source))
            root = Job.wrapJobFn(split_or_sort, file_id, options.chunkLines, memory="200M", disk="200M")
            sorted_id = toil.start(root)
        toil.export_file(sorted_id, output)
    print(f"Sorted output: {output}")


if __name__ == "__main__":
    sys.exit(main())
