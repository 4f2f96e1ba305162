cwlVersion: v1.2
class: Workflow
doc: appends a line to a log file, then sleeps; used to kill the leader mid-run
requirements: {ShellCommandRequirement: {}}
inputs:
  log: string
  secs: int
outputs:
  done: {type: File, outputSource: nap/out}
steps:
  mark:
    run:
      class: CommandLineTool
      requirements: {ShellCommandRequirement: {}}
      inputs: {log: string}
      arguments: [{valueFrom: "echo mark >> $(inputs.log) && echo marked", shellQuote: false}]
      stdout: mark.txt
      outputs: {out: stdout}
    in: {log: log}
    out: [out]
  nap:
    run:
      class: CommandLineTool
      requirements: {ShellCommandRequirement: {}}
      inputs: {after: File, secs: int, log: string}
      arguments: [{valueFrom: "sleep $(inputs.secs) && echo nap >> $(inputs.log) && cat $(inputs.after.path)", shellQuote: false}]
      stdout: nap.txt
      outputs: {out: stdout}
    in: {after: mark/out, secs: secs, log: log}
    out: [out]
