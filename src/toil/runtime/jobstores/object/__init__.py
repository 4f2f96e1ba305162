"""The object-store job store (S3, GCS, Azure Blob): one store over a small driver interface per service."""
