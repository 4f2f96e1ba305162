version 1.0

workflow failing {
  input { String marker }
  scatter (i in [1, 2, 3]) {
    call step { input: i = i, marker = marker }
  }
  output { Array[Int] done = step.out }
}

task step {
  input {
    Int i
    String marker
  }
  command <<<
    echo "ran ~{i}" >> "~{marker}.log"
    if [ ~{i} -eq 2 ] && [ ! -e "~{marker}.ok" ]; then
      echo "step 2 is not ready" >&2
      exit 7
    fi
    echo ~{i}
  >>>
  output { Int out = read_int(stdout()) }
}
