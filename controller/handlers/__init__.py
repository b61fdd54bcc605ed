"""The kopf side of the operator: the handlers (``operator``), kopf's log filters (``logfilter``) and the HTTP client
of the Kubernetes API used outside the handlers (``cluster``). The only code importing kopf; thin."""
