"""The AWS provisioner: clusters of EC2 instances made and removed with boto3."""
