"""Lambda handlers of the upload pipeline: S3 upload -> EventBridge -> Step Functions -> Lambda -> DynamoDB.

The Lambda zip's root is ``handlers/``, so this package is imported as ``pipeline`` and each handler string reads
``pipeline.<module>.handler`` (``pipeline.process.handler``).

Everything a handler module runs at import is paid by every cold start (Lambda bills INIT), so its records are
``NamedTuple``s, not frozen dataclasses: a dataclass compiles its generated methods when its class is created, about
0.7 ms each, a NamedTuple about 0.15 ms. The modules that define records or TypedDicts do not postpone annotations
(no ``from __future__ import annotations``): typing compiles each string annotation of a NamedTuple or a TypedDict
when the class is created, so postponing makes them cost twice as much. tests/handlers/test_init.py keeps both, and
what the entry points must not import, from coming back.
"""
