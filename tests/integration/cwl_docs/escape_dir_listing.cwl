cwlVersion: v1.2
class: CommandLineTool
doc: an outputEval that builds a Directory literal listing a host file
requirements: {InlineJavascriptRequirement: {}}
baseCommand: "true"
inputs: []
outputs:
  dir:
    type: Directory
    outputBinding:
      outputEval: '${ return {"class": "Directory", "basename": "d", "listing": [{"class": "File", "location": "file:///etc/hostname"}]}; }'
