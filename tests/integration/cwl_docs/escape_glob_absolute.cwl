cwlVersion: v1.2
class: CommandLineTool
doc: an output glob that names an absolute path on the host
baseCommand: "true"
inputs: []
outputs:
  stolen: {type: File, outputBinding: {glob: /etc/hostname}}
