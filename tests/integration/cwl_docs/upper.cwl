cwlVersion: v1.2
class: CommandLineTool
requirements: {ShellCommandRequirement: {}}
baseCommand: []
arguments: [{valueFrom: "tr a-z A-Z < $(inputs.f.path)", shellQuote: false}]
inputs:
  f: File
stdout: upper.txt
outputs:
  up: {type: stdout}
