"""The only code that imports boto3: typed gateway, shared snapshot, error mapping, retries."""
