version 1.0

# A task output File that climbs with ../ all the way to a file of the host.
task escape_parent_host {
  command <<<
    echo ran
  >>>
  output { File far = "../../../../../../../../../../../../etc/hostname" }
}
