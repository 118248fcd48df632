"""Every rule of the pack, by service. `ALL_POLICIES` is what `policy/__main__.py` registers and what
`policy.evaluate` runs; a rule that is defined but missing here fails tests/policy/test_pack.py."""

from pulumi_policy import Policy

from . import containers, data, functions, iam, keys, messaging, monitoring, network, s3, stack, tagging, workflows

PACK_NAME = "image-pipeline-baseline"
ALL_POLICIES: list[Policy] = [
    *s3.POLICIES,
    *iam.POLICIES,
    *functions.POLICIES,
    *data.POLICIES,
    *workflows.POLICIES,
    *containers.POLICIES,
    *keys.POLICIES,
    *network.POLICIES,
    *messaging.POLICIES,
    *tagging.POLICIES,
    *stack.POLICIES,
    *monitoring.POLICIES,
]
