cwlVersion: v1.2
class: CommandLineTool
doc: an outputEval that returns a File on the host outside the output directory
requirements: {InlineJavascriptRequirement: {}}
baseCommand: "true"
inputs: []
outputs:
  stolen:
    type: File
    outputBinding: {outputEval: '${ return {"class": "File", "path": "/etc/hostname"}; }'}
