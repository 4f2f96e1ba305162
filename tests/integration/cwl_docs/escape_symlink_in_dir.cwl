cwlVersion: v1.2
class: CommandLineTool
doc: a real Directory output holding a symbolic link to a host file
baseCommand: [sh, -c, "mkdir d && echo mine > d/own.txt && ln -s /etc/hostname d/link.txt"]
inputs: []
outputs:
  dir: {type: Directory, outputBinding: {glob: d}}
