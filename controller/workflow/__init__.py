"""The pull-request workflow: ``awsorg validate`` (offline checks) and ``awsorg export`` (an organization as
objects).  Above the planner and the gateway, below the CLI; never imports kopf."""
