version development

# A Directory output holding a symbolic link out of the task's working directory.
task escape_directory {
  command <<<
    mkdir d && echo mine > d/own.txt && ln -s /etc/hostname d/link.txt
  >>>
  output { Directory d = "d" }
}
