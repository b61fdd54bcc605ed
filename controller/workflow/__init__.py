"""The pull-request workflow: ``awsorg validate`` (offline checks), ``awsorg plan`` (the engine in a dry run),
``awsorg export`` (an organization as objects) and the CLI's exit codes (``exits``).  Above the planner and the
gateway, below the CLI; never imports kopf."""
