"""awsorg-operator: Git as the source of truth for an AWS Organization."""

__version__ = "0.1.0"
