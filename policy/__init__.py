"""The project's pulumi-policy pack: the security baseline of CONVENTIONS.md, enforced on what the program declares.

The Pulumi CLI runs `__main__.py` with this directory on `sys.path` (so it imports `rules`); the tests and the
offline tools import the same code as `policy.rules` and call `policy.evaluate.evaluate` on mock-recorded stacks.
"""
