cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}, SubworkflowFeatureRequirement: {}, StepInputExpressionRequirement: {},
  InlineJavascriptRequirement: {}}
inputs:
  words: string[]
outputs:
  shouted: {type: "File[]", outputSource: each/result}
  count: {type: int, outputSource: count/n}
steps:
  each:
    run: shout.cwl
    scatter: word
    in:
      word: words
      keep: {valueFrom: "$(inputs.word == 'keep')"}
    out: [result]
  count:
    run:
      class: ExpressionTool
      inputs: {files: "File[]"}
      outputs: {n: int}
      expression: "$({'n': inputs.files.length})"
    in: {files: each/result}
    out: [n]
