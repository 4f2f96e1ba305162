version 1.1

import "sub.wdl" as sub

workflow constructs {
  input {
    Array[Sample] samples
    Map[String, Int] weights = {"a": 1, "b": 2}
    Boolean deep = true
    String? missing
    File notes
  }

  scatter (s in samples) {
    call sub.count_sample { input: sample = s, scale = 2 }
  }

  scatter (p in as_pairs(weights)) {
    scatter (k in range(p.right)) {
      call echo_line { input: line = "~{p.left}~{k}" }
    }
  }

  if (deep) {
    call echo_line as when_true { input: line = select_first([missing, "default"]) }
  }
  if (!deep) {
    call echo_line as when_false { input: line = "never" }
  }

  call make_files { input: n = length(samples) }
  call concat after make_files { input: files = make_files.outs, notes = notes }

  output {
    Array[Int] totals = count_sample.total
    Array[File] reports = count_sample.report
    File make_err = make_files.err
    Array[Array[String]] lines = echo_line.out
    String? yes = when_true.out
    String? no = when_false.out
    Array[String] globbed = make_files.names
    String joined = concat.text
    Pair[Int, String] pair = (length(totals), "done")
    Map[String, Int] doubled = as_map(zip(keys(weights), [2, 4]))
  }
}

task echo_line {
  input { String line }
  command { echo '~{line}' }
  output { String out = read_string(stdout()) }
  runtime { cpu: 1  memory: "100 MiB"  docker: "ubuntu:22.04" }
}

task make_files {
  input { Int n }
  command <<<
    mkdir parts
    for i in $(seq 1 ~{n}); do echo "part $i" > parts/p$i.txt; done
    echo warned >&2
  >>>
  output {
    Array[File] outs = glob("parts/*.txt")
    Array[String] names = read_lines(write_lines(outs))
    File err = stderr()
  }
}

task concat {
  input {
    Array[File] files
    File notes
  }
  command <<<
    cat ~{sep(" ", files)} ~{notes}
  >>>
  output { String text = read_string(stdout()) }
}
