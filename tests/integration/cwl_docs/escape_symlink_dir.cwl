cwlVersion: v1.2
class: CommandLineTool
doc: a Directory output that is a symbolic link to a host directory
baseCommand: [ln, -s, /etc/default, linked]
inputs: []
outputs:
  dir: {type: Directory, outputBinding: {glob: linked}}
