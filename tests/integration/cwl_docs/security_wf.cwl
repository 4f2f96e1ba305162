cwlVersion: v1.2
class: Workflow
doc: |
  Two independent steps: 'make' writes files and a digest of the environment variables it was given
  (to the path 'check', outside the job store) and reads an input file; 'broken' fails. Used by
  test_security.py to look at what the engine writes.
requirements: {StepInputExpressionRequirement: {}}
inputs:
  check: string
  data: File
  fail: {type: boolean, default: true}
outputs:
  made: {type: File, outputSource: make/made}
  copied: {type: File, outputSource: make/copied}
steps:
  make:
    run:
      class: CommandLineTool
      requirements:
        EnvVarRequirement:
          envDef: {FROM_INPUT: "$(inputs.check)"}
        InlineJavascriptRequirement: {}
      baseCommand: [python3, -c]
      arguments:
        - |
          import hashlib, json, os, shutil, sys
          names = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "TOIL_TEST_API_TOKEN",
                   "MY_API_TOKEN"]
          with open(sys.argv[1], "w") as f:
              json.dump({n: hashlib.sha256(os.environ.get(n, "").encode()).hexdigest() for n in names}, f)
          shutil.copy(sys.argv[2], "copied.txt")
          os.makedirs("sub/dir")
          with open("sub/dir/deep.txt", "w") as f:
              f.write("deep")
          print("made")
        - $(inputs.check)
        - $(inputs.data.path)
      inputs:
        check: string
        data: File
      stdout: made.txt
      outputs:
        made: {type: stdout}
        copied: {type: File, outputBinding: {glob: copied.txt}}
        sub: {type: Directory, outputBinding: {glob: sub}}
    in: {check: check, data: data}
    out: [made, copied]
  broken:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, "echo partial > part.txt; echo failing on purpose >&2; exit 3"]
      inputs:
        fail: boolean
      outputs:
        part: {type: File, outputBinding: {glob: part.txt}}
    in: {fail: fail}
    when: $(inputs.fail)
    out: [part]
