"""``--batchSystem mesos``: a framework on the v1 scheduler HTTP API of a Mesos master."""
