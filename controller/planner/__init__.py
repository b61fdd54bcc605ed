"""The pure planner: desired spec + observed AWS state -> list of actions. Imports neither boto3 nor kopf."""
