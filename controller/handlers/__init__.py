"""kopf handlers: the only code importing kopf. Thin wrappers around the reconcilers."""
