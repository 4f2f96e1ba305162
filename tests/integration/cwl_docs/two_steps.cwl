cwlVersion: v1.2
class: Workflow
doc: a file with a secondary file and a directory made by one step, read by the next ones
requirements: {ShellCommandRequirement: {}, StepInputExpressionRequirement: {}, InlineJavascriptRequirement: {}}
inputs:
  msg: string
outputs:
  report: {type: File, outputSource: read/report}
  made: {type: File, outputSource: make/data}
  tree: {type: Directory, outputSource: make/tree}
  said: {type: File, outputSource: say/said}
steps:
  make:
    run:
      class: CommandLineTool
      requirements: {ShellCommandRequirement: {}}
      inputs: {msg: string}
      arguments:
        - valueFrom: >
            echo $(inputs.msg) > data.txt && echo index > data.txt.idx &&
            mkdir -p tree/sub && echo one > tree/one.txt && echo two > tree/sub/two.txt
          shellQuote: false
      outputs:
        data: {type: File, secondaryFiles: [.idx], outputBinding: {glob: data.txt}}
        tree: {type: Directory, outputBinding: {glob: tree}}
    in: {msg: msg}
    out: [data, tree]
  read:
    run:
      class: CommandLineTool
      requirements: {ShellCommandRequirement: {}}
      inputs:
        data: {type: File, secondaryFiles: [.idx]}
        tree: Directory
      arguments:
        - valueFrom: >
            cat $(inputs.data.path) $(inputs.data.path).idx $(inputs.tree.path)/one.txt
            $(inputs.tree.path)/sub/two.txt
          shellQuote: false
      stdout: report.txt
      outputs: {report: stdout}
    in: {data: make/data, tree: make/tree}
    out: [report]
  say:
    run:
      class: CommandLineTool
      inputs: {word: string}
      baseCommand: echo
      arguments: [$(inputs.word)]
      stdout: said.txt
      outputs: {said: stdout}
    in:
      word: {source: make/data, loadContents: true, valueFrom: "$(self.contents.trim())"}
    out: [said]
