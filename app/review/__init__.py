"""The image pipeline's cost model, and its section of the platform's review report.

    per_image.py     what a million images cost: every billed request, second and byte, priced from
                     policy/rules/prices.py, in parts (processing, refused images, retries, cold starts, storage)
    workload.py      the paths an image takes, walked through the state machine definitions the stack declares
    retention.py     how long the stack keeps the uploads, the renditions and the logs
    assumptions.py   what the model assumes (handler measurements, shares, typical latencies), each with its reason
    levers.py        what moves the cost most: each lever varied and the stack priced again
    options.py       the assumptions `make review` takes as options (REVIEW_ARGS="--cold-start-share 0.05")
    report.py        the report's section and summary rows

`python -m review` finds this module through its extension point (review/extension.py): it adds `add_arguments`'
options to its own and calls `sections` with their values.
"""

from app.review.options import add_arguments
from app.review.report import sections

__all__ = ["add_arguments", "sections"]
