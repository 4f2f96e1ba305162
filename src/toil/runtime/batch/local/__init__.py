"""The single_machine batch system: a fork server (zygote) and warm worker processes."""
