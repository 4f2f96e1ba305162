version 1.0

# Allowed: an output that is the task's own input file, and a link to it.
task escape_input_ok {
  input { File given }
  command <<<
    ln -s '~{given}' link.txt
  >>>
  output {
    File same = given
    File linked = "link.txt"
  }
}
