version 1.0
import "sub.wdl" as s
workflow overrides {
  scatter (i in [1, 2]) {
    call t { input: a = i }
  }
  call s.count_sample as cs { input: sample = {"name": "n", "reads": 3} }
  output { Array[String] o = t.out  Int tot = cs.total }
}
task t {
  input { Int a  String b = "dflt" }
  command <<< echo ~{a}-~{b} >>>
  output { String out = read_string(stdout()) }
}
