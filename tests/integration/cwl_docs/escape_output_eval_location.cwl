cwlVersion: v1.2
class: CommandLineTool
doc: an outputEval that returns a file:// location outside the output directory
requirements: {InlineJavascriptRequirement: {}}
baseCommand: "true"
inputs: []
outputs:
  stolen:
    type: File
    outputBinding: {outputEval: '${ return {"class": "File", "location": "file:///etc/hostname"}; }'}
