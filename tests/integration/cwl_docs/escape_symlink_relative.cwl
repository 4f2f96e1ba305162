cwlVersion: v1.2
class: CommandLineTool
doc: a relative symbolic link in the output directory that points out of it
baseCommand: [ln, -s, "../../../../../../../../../../../../etc/hostname", link.txt]
inputs: []
outputs:
  link: {type: File, outputBinding: {glob: link.txt}}
