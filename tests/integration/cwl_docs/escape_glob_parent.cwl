cwlVersion: v1.2
class: CommandLineTool
doc: an output glob that climbs out of the output directory to a file of the host
baseCommand: "true"
inputs: []
outputs:
  stolen: {type: File, outputBinding: {glob: "../../../../../../../../../../../../etc/hostname"}}
