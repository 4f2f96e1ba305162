version 1.0

workflow parallel {
  input { String log }
  scatter (i in range(4)) {
    call nap { input: i = i, log = log }
  }
  output { Array[Int] ids = nap.out }
}

task nap {
  input {
    Int i
    String log
  }
  command <<<
    start=$(date +%s.%N); sleep 1; end=$(date +%s.%N)
    echo "~{i} $start $end" >> "~{log}"
    echo ~{i}
  >>>
  output { Int out = read_int(stdout()) }
  runtime { cpu: 1  memory: "50 MiB" }
}
