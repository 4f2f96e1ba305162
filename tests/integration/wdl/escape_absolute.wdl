version 1.0

# A task output File naming a host file that is not among the task's inputs.
task escape_absolute {
  command <<<
    echo ran
  >>>
  output { File stolen = "/etc/hostname" }
}
