"""The Python front end: Toil's Job API, compiled onto the IR."""
