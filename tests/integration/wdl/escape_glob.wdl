version 1.0

# glob() matching a symbolic link out of the task's working directory.
task escape_glob {
  command <<<
    mkdir d && echo mine > d/own.txt && ln -s /etc/hostname d/link.txt
  >>>
  output { Array[File] found = glob("d/*.txt") }
}
