"""The file: job store (a directory on a shared file system) and its fsync'ed journal."""
