"""The WDL front end: miniwdl parses and type-checks; this package compiles onto the IR and runs tasks."""
