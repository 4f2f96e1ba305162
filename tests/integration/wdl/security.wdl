version 1.0

# Two independent tasks: 'make' writes files and a digest of the environment variables it sees (to the
# path 'check', outside the job store) and reads an input file; 'broken' fails when asked. Used by
# test_security.py to look at what the engine writes.
workflow security {
  input {
    String check
    File data
    Boolean fail = true
  }
  call make { input: check = check, data = data }
  if (fail) {
    call broken
  }
  output {
    File made = make.made
    File copied = make.copied
    Array[File] deep = make.deep
  }
}

task make {
  input {
    String check
    File data
  }
  command <<<
    python3 - '~{check}' '~{data}' <<'PY'
    import hashlib, json, os, sys
    names = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "TOIL_TEST_API_TOKEN", "MY_API_TOKEN"]
    with open(sys.argv[1], "w") as f:
        json.dump({n: hashlib.sha256(os.environ.get(n, "").encode()).hexdigest() for n in names}, f)
    PY
    cp '~{data}' copied.txt
    mkdir -p sub/dir && echo deep > sub/dir/deep.txt
    echo made
  >>>
  output {
    File made = stdout()
    File copied = "copied.txt"
    Array[File] deep = glob("sub/dir/*.txt")
  }
}

task broken {
  command <<<
    echo partial > part.txt
    echo "failing on purpose" >&2
    exit 3
  >>>
  output { File part = "part.txt" }
}
