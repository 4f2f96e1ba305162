cwlVersion: v1.2
class: CommandLineTool
doc: allowed - an output that passes an input through, and a Directory holding a link to a file inside it
requirements: {InlineJavascriptRequirement: {}}
baseCommand: [sh, -c, 'mkdir d && echo x > d/own.txt && ln -s own.txt d/sibling.txt && ln -s d/own.txt top.txt']
inputs:
  given: File
outputs:
  same: {type: File, outputBinding: {outputEval: $(inputs.given)}}
  top: {type: File, outputBinding: {glob: top.txt}}
  dir: {type: Directory, outputBinding: {glob: d}}
