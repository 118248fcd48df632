"""The local cloud: the program's stack deployed into an in-process AWS emulator (moto), the handlers and the
worker running in-process, for `make demo` and the end-to-end tests. See local/cloud.py.

What the emulator does not check, so that nobody mistakes a green local run for more than it is:
- Lambda: one shared process, no memory, concurrency or cold-start limits; the handlers run from handlers/ on this
  machine's Python, not from the arm64 / Python 3.13 zip; no X-Ray.
- ECS: no container image, no read-only root, user, CPU or memory limits; tasks go RUNNING -> STOPPED directly.
- Step Functions: Express workflows run like Standard ones (no at-least-once, no 5-minute limit); logging
  configuration is not deployed.
- EventBridge: delivery is synchronous inside PutObject and the retry policy is not emulated (a failed start goes
  to the dead-letter queue at once); the target's role is not assumed.
- S3 and DynamoDB: encryption, lifecycle, access logs, TTL, PITR and deletion protection are stored, not applied;
  conditional writes and DynamoDB's reserved words are enforced.
- RDS Data API: no SQL engine and no transactions (the schema migration cannot run); each insert is checked for
  its cluster, secret, database and parameters against the SQL's placeholders, not executed.
- IAM and KMS: policies are stored, never evaluated; nothing is encrypted.
- Network: the VPC exists only so that tasks can attach to subnets and security groups; nothing routes or filters.
"""
