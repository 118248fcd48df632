"""Lambda handlers of the upload pipeline: S3 upload -> EventBridge -> Step Functions -> Lambda -> DynamoDB.

The Lambda zip's root is ``handlers/``, so this package is imported as ``pipeline`` and each handler string reads
``pipeline.<module>.handler`` (``pipeline.process.handler``).
"""
