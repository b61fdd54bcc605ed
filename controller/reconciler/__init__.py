"""Per-kind reconcilers: observe -> plan -> execute -> status. No kopf here."""
