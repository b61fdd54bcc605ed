"""The API of awsorg-operator: pydantic models of the kinds, and the CRDs generated from them."""
