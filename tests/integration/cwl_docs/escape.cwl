cwlVersion: v1.2
class: CommandLineTool
doc: links a file the tool was not given into its outputs
requirements: {ShellCommandRequirement: {}}
arguments: [{valueFrom: "ln -s /etc/hostname link.txt", shellQuote: false}]
inputs: []
outputs:
  link: {type: File, outputBinding: {glob: link.txt}}
