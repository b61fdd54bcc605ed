"""The reconcile engine and its adapters, one per kind: observe -> plan -> execute -> status; and the resync loop
that drives it besides the kopf handlers. No kopf here."""
