version 1.0

# A task output File that is a symbolic link out of the task's working directory.
task escape_symlink {
  command <<<
    ln -s /etc/hostname link.txt
  >>>
  output { File stolen = "link.txt" }
}
