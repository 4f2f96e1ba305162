version 1.0

task greet {
  input {
    String who
    Int times = 2
  }
  command <<<
    for i in $(seq 1 ~{times}); do echo "hello ~{who}"; done
  >>>
  output {
    Array[String] lines = read_lines(stdout())
    File out = stdout()
  }
}
