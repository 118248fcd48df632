"""The offline review of a stack: what a reviewer of a pull request (or of a fork's, without cloud credentials)
needs to judge a change, from the program run under Pulumi's mocks.

    python -m review --stack dev          # the Markdown report: .build/review/dev.md, also printed
    python -m review.snapshot --write     # refresh the committed graph snapshots, review/snapshots/<stack>.json

The report holds the resource tree, a Mermaid graph of the components, the policy pack's results, who may do what
(IAM), what the stack costs while idle and what a million images cost with the stack's settings.
"""
