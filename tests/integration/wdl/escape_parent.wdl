version 1.0

# A task output File that climbs out of the task's working directory with ../ to a file the task wrote.
task escape_parent {
  command <<<
    echo outside > ../outside.txt
  >>>
  output { File near = "../outside.txt" }
}
