"""The WDL conformance driver's version conversion and output comparison."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import WDL

REPO = Path(__file__).resolve().parents[4]
spec = importlib.util.spec_from_file_location("wdl_conformance", REPO / "conformance" / "wdl_conformance.py")
driver = importlib.util.module_from_spec(spec)
assert spec.loader is not None
spec.loader.exec_module(driver)

SOURCE = """version 1.1

workflow w {
  input {
    String s = "x"
  }
  call t { input: s = s }
  output { String o = t.o }
}

task t {
  input {
    String s
  }
  command <<<
    echo ~{s}
  >>>
  output { String o = read_string(stdout()) }
  runtime {
    container: "ubuntu:22.04"
  }
}
"""


def test_convert_to_draft2_parses_with_miniwdl():
    text = driver.convert(SOURCE, "draft-2")
    assert "version" not in text and "input {" not in text and "~{" not in text
    assert "docker:" in text and "container:" not in text
    doc = WDL.parse_document(text)
    doc.typecheck()
    assert [d.name for d in doc.workflow.inputs or []] == [] and doc.tasks[0].command


def test_convert_to_1_0_keeps_inputs_and_renames_container():
    text = driver.convert(SOURCE, "1.0")
    assert text.startswith("version 1.0") and "input {" in text and "docker:" in text
    assert driver.convert(SOURCE, "1.1") == SOURCE


def test_compare_by_type(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("hello\n")
    md5 = hashlib.md5(b"hello\n").hexdigest()
    assert driver.compare("File", {"md5sum": md5}, str(f)) is None
    assert driver.compare("File", {"md5sum": "0" * 32}, str(f))
    assert driver.compare("File", {"regex": "^hel+o$"}, str(f)) is None
    assert driver.compare("Map[Int, Int]", {"1": 2}, {"1": 2}) is None
    assert driver.compare("Map[Int, Int]", {"1": 2}, {"1": 3})
    assert driver.compare("Array[Pair[Int,Int]]", [{"left": 1, "right": 2}], [{"left": 1, "right": 2}]) is None
    assert driver.compare("Int", 1, True)  # a Boolean is not an Int
    assert driver.compare("Float", 1.5, 1.5) is None
    assert driver.compare({"a": "Int"}, {"a": 1}, {"a": 2})
    assert driver.compare("Array[File?]", [None], [None]) is None


def test_known_failures_file_parses():
    known = driver.read_known_failures()
    assert ("miniwdl_self_test", "*") in known and all(reason for reason in known.values())
