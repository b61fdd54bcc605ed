"""The Kubernetes API outside kopf: a small HTTP client (status writes, events, ``awsorg plan --cluster``)."""
