cwlVersion: v1.2
class: Workflow
doc: echo a word, then upper-case it unless told to keep it
requirements: {InlineJavascriptRequirement: {}, MultipleInputFeatureRequirement: {}}
inputs:
  word: string
  keep: {type: boolean, default: false}
outputs:
  result:
    type: File
    outputSource: [up/up, say/out]
    pickValue: first_non_null
steps:
  say: {run: echo.cwl, in: {msg: word}, out: [out]}
  up:
    run: upper.cwl
    when: $(!inputs.keep)
    in: {f: say/out, keep: keep}
    out: [up]
