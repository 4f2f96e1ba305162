cwlVersion: v1.2
class: CommandLineTool
inputs:
  x: {type: strin}
outputs: []
baseCommand: echo
