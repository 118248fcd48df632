"""The Fargate worker: renders the uploads too large for the Lambda's memory, with the Lambda's own code.

The image (``Dockerfile`` here, build context ``handlers/``) runs ``python -m worker.main``; see `worker.main` for
its input and exit codes.
"""
