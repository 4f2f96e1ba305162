cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "debian:12"}
baseCommand: "true"
inputs: []
outputs: []
