"""kopf handlers: the only code importing kopf (kopf's login included, handed to ``controller.kube``). Thin
wrappers around the reconcile engine."""
