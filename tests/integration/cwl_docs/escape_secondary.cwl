cwlVersion: v1.2
class: CommandLineTool
doc: a secondaryFiles expression that names a host file outside the output directory
requirements: {InlineJavascriptRequirement: {}}
baseCommand: [sh, -c, "echo mine > own.txt"]
inputs: []
outputs:
  own:
    type: File
    outputBinding: {glob: own.txt}
    secondaryFiles:
      - '${ return {"class": "File", "location": "file:///etc/hostname"}; }'
