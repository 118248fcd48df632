"""The image catalog in Aurora PostgreSQL, reached through the RDS Data API: its schema, and the migration handler.

The Lambda zip's root is ``handlers/``, so this package imports as ``catalog`` (handler string
``catalog.migrate.handler``). ``catalog.schema`` uses only the standard library, so the Pulumi program can import
the SQL the workflow runs from the same place the migrations live.
"""
