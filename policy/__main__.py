"""The pack's entry point, run by the Pulumi CLI (`pulumi preview --policy-pack policy`) with this directory on
`sys.path`. It only builds the pack: `PolicyPack` starts the gRPC server the CLI talks to and never returns, so
the rules live in the importable `rules` package, where the tests run them too.

Every rule is mandatory unless the stack's config file (policy/<stack>.json) says otherwise."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import ALL_POLICIES, PACK_NAME

PolicyPack(name=PACK_NAME, policies=ALL_POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
