"""Version strings, at Toil's import path (toil.version)."""
baseVersion = "0.1.0"
version = baseVersion
distVersion = baseVersion
cgcloudVersion = baseVersion
dockerTag = baseVersion
