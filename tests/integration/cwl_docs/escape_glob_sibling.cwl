cwlVersion: v1.2
class: CommandLineTool
doc: an output glob naming a file the tool wrote next to (outside) its output directory
baseCommand: [sh, -c, "echo outside > ../escape_glob_sibling.txt"]
inputs: []
outputs:
  stolen: {type: File, outputBinding: {glob: ../escape_glob_sibling.txt}}
