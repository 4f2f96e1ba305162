version 1.1

struct Sample {
  String name
  Int reads
}

workflow count_sample {
  input {
    Sample sample
    Int scale = 1
  }
  call measure { input: s = sample, scale = scale }
  output {
    Int total = measure.total
    File report = measure.report
  }
}

task measure {
  input {
    Sample s
    Int scale
  }
  command <<<
    echo "~{s.name} $(( ~{s.reads} * ~{scale} ))" > report.txt
    echo $(( ~{s.reads} * ~{scale} ))
  >>>
  output {
    Int total = read_int(stdout())
    File report = "report.txt"
  }
}
