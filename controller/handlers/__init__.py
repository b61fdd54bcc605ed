"""The kopf side of the operator: the handlers (``operator``), kopf's log filters (``logfilter``) and kopf's login
handed to ``controller.kube`` (``cluster``). The only code importing kopf; thin wrappers around the reconcile engine."""
