"""AWS Organizations as the sandbox plays it, by what it plays: the shared error shape, rule registry and moto
lookups (:mod:`.base`), organizational units (:mod:`.units`), accounts (:mod:`.accounts`), policies
(:mod:`.policies`) and their grammar (:mod:`.policy_grammar`), the organization's settings (:mod:`.settings`).
The WSGI middleware that runs the rules is :mod:`controller.sandbox.strict`.
"""
