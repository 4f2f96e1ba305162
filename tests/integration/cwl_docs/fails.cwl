cwlVersion: v1.2
class: CommandLineTool
baseCommand: ["sh", "-c", "echo partial > part.txt; exit 3"]
inputs: []
outputs:
  part: {type: File, outputBinding: {glob: part.txt}}
