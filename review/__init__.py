"""The offline review of a stack: what a reviewer of a pull request (or of a fork's, without cloud credentials)
needs to judge a change, from the program run under Pulumi's mocks.

    python -m review --stack dev          # the Markdown report: .build/review/dev.md, also printed
    python -m review.snapshot --write     # refresh the committed graph snapshots, review/snapshots/<stack>.json

The report holds the resource tree, a Mermaid graph of the components, the policy pack's results, who may do what
(IAM) and what the stack costs while idle; an application adds its own sections through one optional module
(review/extension.py: `app.review`, whose sections here say what a million images cost).
"""
