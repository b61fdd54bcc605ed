"""The pure planner: desired spec + observed AWS state -> list of actions, and the rules across objects (claims,
cycles) that the engine and ``awsorg validate`` share. Imports neither boto3 nor kopf."""
