"""The Kubernetes batch system: each job, or each pack of tiny jobs, as a ``batch/v1`` Job in the appliance."""
