"""The local cloud: the program's stack deployed into an in-process AWS emulator (moto), its Lambda handlers and
container entrypoints running in-process, for an application's demo and end-to-end tests. See emulator/cloud.py:
the application says where its functions' code is and how its handler packages take their clients; the emulator
knows nothing else of it.

What the emulator checks as AWS would: the account guard (it runs as the account the program was synthesized for, by
default its deploy role's or else its first allowed account, and refuses a program whose AWS provider does not allow
that account before deploying anything, see emulator/accounts.py); every call a Lambda handler, an ECS task, a
workflow's integrations or an event target makes is authorized against that principal's own role (emulator/iam.py: its
inline and attached policies evaluated with moto's evaluator, conditions included; bucket policies' explicit denies;
trust policies when credentials are minted; iam:PassRole and ecs:TagResource for RunTask; the Data API reading its
secret with the caller's credentials), and a denied call fails as AWS answers it. Step Functions is as strict as AWS
where moto is lenient: a Choice comparing a missing path, or a task parameter naming one, fails the execution with
States.Runtime, which no Retry or Catch handles; ECS refuses overrides over 8192 characters; a `.sync` RunTask
answered with failures fails as AmazonECS.Unknown; a task whose state ended first is stopped (its credentials stop
working).

What the emulator does not check, so that nobody mistakes a green local run for more than it is:
- Lambda: one shared process, no memory, concurrency or cold-start limits; the handlers run from the code roots the
  caller gives (the zip's sources) on this machine's Python, not from the built zip; no X-Ray. Timeouts are
  wall-clock in a process that many executions share: a run with hundreds in flight stretches them
  (`LocalCloud.stretched_timeouts`).
- ECS: no container image, no read-only root, user, CPU or memory limits; tasks go RUNNING -> STOPPED directly; a
  stopped task is not sent SIGTERM (its credentials are revoked instead); the container gets its task role's
  credentials in its environment, where ECS serves them from its credentials endpoint.
- Step Functions: Express workflows run like Standard ones (no at-least-once, no 5-minute limit: the Workflow
  component refuses a definition that could exceed it, see components/budget.py); logging is not deployed.
- EventBridge: delivery is synchronous inside PutObject and the retry policy is not emulated (a failed start goes
  to the dead-letter queue at once).
- S3 and DynamoDB: encryption, lifecycle, access logs, TTL, PITR and deletion protection are stored, not applied;
  conditional writes and DynamoDB's reserved words are enforced.
- RDS: each Aurora PostgreSQL cluster is a real PostgreSQL of the engine's major version (emulator/postgres.py:
  pgserver's 16.2 where the stack says 16.6), started when the cluster deploys, with the cluster's database and
  master user (the managed master secret holds its generated password); the Data API runs every statement on it as
  the login its secret names, transactions included (emulator/dataapi/). A cluster pauses when told, not after
  its idle time (`LocalCloud.pause_database`: DatabaseResumingException from the next request until its resume has
  ended), and its writer is down when told (`LocalCloud.database_down`: DatabaseUnavailableException). Not
  emulated: scaling, readers and failover, IAM database authentication, TLS (`rds.force_ssl`) and the cluster
  parameter group's settings, backups; RDS's Describe* answers do not change with a pause or a writer down; the C
  locale sorts text by byte where Aurora's en_US.UTF-8 does not.
- IAM: KMS key policies and the kms:* actions a call implies are not evaluated (nothing is encrypted), nor are
  resource policies' allows, SCPs, permission boundaries or session policies; condition operators beyond those the
  stack uses (StringEquals, StringLike, ArnEquals, ArnLike, Bool) make a statement not apply.
- Network: the VPC exists only so that tasks can attach to subnets and security groups; nothing routes or filters.
"""
