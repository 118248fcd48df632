"""`--keep-catalog`: after the run, the catalog's embedded PostgreSQL stays up for a psql shell until Ctrl-C, then
stops with the rest of the local cloud (its data directory removed).

The printed command logs in as the cluster's master user, with the password RDS keeps in the cluster's secret (read
from the local cloud's Secrets Manager). The password goes into a password file under the workdir (mode 0600, removed
when the wait ends), not into the command: it shows neither on the terminal nor in the shell's history. The client
is the psql beside the server's own binaries (pgserver bundles the server's version, so client and server agree on
the major), else the first one on PATH.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from app.demo.catalog import CatalogCluster
from app.demo.cloud import PipelineCloud
from app.demo.report import NO_CATALOG
from emulator.postgres import PORT, EmbeddedPostgres

__all__ = ["PASSFILE", "PsqlCommand", "keep_catalog", "psql_binary", "psql_command", "until_interrupted"]

PASSFILE = "catalog.pgpass"
"""Under the workdir: libpq's password file for the printed command (PGPASSFILE)."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class PsqlCommand:
    psql: str
    host: str
    """The server's socket directory: it listens on no TCP port."""
    port: int
    database: str
    user: str
    passfile: Path

    def line(self) -> str:
        """The command as a POSIX shell takes it, quoted where a path needs it."""
        arguments = [self.psql, "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.database]
        return f"PGPASSFILE={shlex.quote(str(self.passfile))} {shlex.join(arguments)}"


def keep_catalog(cloud: PipelineCloud, workdir: Path) -> None:
    """Print a psql command for the catalog's server and wait for Ctrl-C; the caller then closes the cloud, which
    stops the server. A stack without a catalog has nothing to keep: one line says so."""
    cluster = CatalogCluster.of(cloud)
    if cluster is None:
        print(f"\n--keep-catalog: nothing to keep, {NO_CATALOG}")
        return
    server = cloud.data_api.server(cluster.arn)
    command = psql_command(cloud, server, cluster, workdir)
    try:
        print(f"\nThe catalog's PostgreSQL {server.version} keeps running; a shell on it, as the master user:\n"
              f"  {command.line()}\nCtrl-C here stops it.", flush=True)  # fmt: skip
        until_interrupted()
    finally:
        command.passfile.unlink(missing_ok=True)
    print("Stopping the catalog's PostgreSQL (its data goes with it).")


def psql_command(cloud: PipelineCloud, server: EmbeddedPostgres, cluster: CatalogCluster, workdir: Path) -> PsqlCommand:
    """The command for a shell on `server` as `cluster`'s master user; writes the password file it names."""
    secret = cloud.client("secretsmanager").get_secret_value(SecretId=cluster.secret_arn)
    login = json.loads(secret["SecretString"])
    command = PsqlCommand(psql_binary(server), str(server.socket_dir), PORT, cluster.database, login["username"],
                          workdir / PASSFILE)  # fmt: skip
    _write_passfile(command, login["password"])
    return command


def psql_binary(server: EmbeddedPostgres) -> str:
    """The psql beside the server's binaries (pgserver's bundled one, for its servers), else the one on PATH."""
    beside = server.binaries.directory / "psql"
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("psql") or "psql"


def until_interrupted() -> None:
    """Return once Ctrl-C (SIGINT) or a plain `kill` (SIGTERM) arrives, then put their handlers back. SIGTERM's
    default action would end the process without stopping the server (a child left running with its data), and a
    handler of its own, rather than KeyboardInterrupt, also works where SIGINT was left ignored (a non-interactive
    shell's background job)."""
    stopped = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stopped.set()) for number in STOP_SIGNALS}
    try:
        # Timed: the kernel may deliver the signal to another thread, and then the main thread, the one that runs
        # Python's handlers, is not woken until its wait times out.
        while not stopped.wait(POLL_SECONDS):
            continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _write_passfile(command: PsqlCommand, password: str) -> None:
    """One `host:port:database:user:password` line, `:` and `\\` escaped as libpq reads them. libpq ignores a file
    others can read, so it is created 0600 before anything is written to it."""
    fields = (command.host, str(command.port), command.database, command.user, password)
    line = ":".join(field.replace("\\", "\\\\").replace(":", "\\:") for field in fields)
    command.passfile.unlink(missing_ok=True)
    descriptor = os.open(command.passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(line + "\n")
