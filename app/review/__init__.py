"""The image pipeline's cost model, and its section of the platform's review report.

    per_image.py     what a million images cost: every billed request, second and byte, priced from
                     policy/rules/prices.py
    workload.py      the paths an image takes, walked through the state machine definitions the stack declares
    assumptions.py   what the model assumes (handler measurements, typical latencies), each with its reason
    report.py        the report's section and summary row

`python -m review` finds this module through its extension point (review/extension.py) and calls `sections`.
"""

from app.review.report import sections

__all__ = ["sections"]
