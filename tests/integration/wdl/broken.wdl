version 1.0

workflow broken {
  input { Int x }
  Int y = x + missing_name
  output { Int z = y }
}
