"""An embedded PostgreSQL for the local cloud: one server per deployed Aurora cluster, in a temporary data directory
under the cloud's workdir, started when the cluster is deployed and stopped (its directory removed) when the cloud
closes; `stop` and `restart` take it down and bring it back with its data (a writer that is down). No Docker and no
system service: the binaries come from the `pgserver` package (PyPI, pinned in requirements-dev.txt), which bundles
PostgreSQL 16 for Linux and macOS, or else from a PostgreSQL on PATH.

    with EmbeddedPostgres(workdir / "postgres" / "catalog", major=16) as server:
        server.create_database("catalog", owner="catalog_owner", password=...)   # as RDS creates the cluster's
        with server.connect("catalog_owner", password, "catalog") as connection:
            ...

The server's major version must be the stack's Aurora engine major (`components.database.ENGINE_MAJOR_VERSION`):
a server of another major is refused before it starts (`EngineVersionMismatch`), since SQL that runs on one major
may not run on another. What it is configured as, and how that differs from Aurora:

- Password logins only (SCRAM-SHA-256, as Aurora PostgreSQL 14+ requires of the Data API), over a Unix socket in its
  directory: nothing listens on a TCP port, so nothing outside this machine's users can reach it.
- Each server's data directory is a copy of a template that the process initdb's once (into a temporary directory,
  removed when the process exits) and stripped to `template1`: a server starts in a fraction of a second, in the
  background while the rest of the stack deploys. The server is a child of this process, stopped on close.
- Its own superuser (`BOOTSTRAP_USER`, a random password per process) stands for RDS's `rdsadmin`: it creates each
  cluster's database and master user. The master user gets what RDS gives it that PostgreSQL can express (LOGIN,
  CREATEDB, CREATEROLE, owner of the database), not superuser.
- UTF-8 with the C locale (Aurora's databases default to en_US.UTF-8: text sorts by byte here), the UTC time zone
  (Aurora's default), and no durability (fsync off): the data is thrown away with the cloud.
- PostgreSQL refuses to run as root. Run as root (a container, CI), the server runs as the unprivileged `nobody`,
  its data directory in a private temporary directory that `root/data` links to (see `_prepare_directories`), and
  the directories above it and the binaries get the others-may-traverse bit (o+x, never read) where they lack it.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["BOOTSTRAP_USER", "EmbeddedPostgres", "EngineVersionMismatch", "PostgresBinaries", "find_binaries"]

BOOTSTRAP_USER = "local_rdsadmin"
"""The server's superuser: the emulator's stand-in for RDS's own `rdsadmin`, never given to a caller."""
PORT = 5432
SOCKET_PATH_MAX = 103
"""The longest Unix socket path every platform accepts (sun_path is 104 bytes on macOS, 108 on Linux)."""
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
READY_POLL_SECONDS = 0.02
TEMPLATE_WAL_SEGMENT_MB = 1
"""WAL segments of 1 MB instead of 16: every server's data directory starts as a copy of the template."""
SERVER_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "TimeZone": "UTC",
    "log_timezone": "UTC",
    "password_encryption": "scram-sha-256",
    "max_connections": "300",
}
"""Settings of every embedded server (see the module's docstring for why each differs from Aurora, where it does)."""
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
_BOOTSTRAP_PASSWORD = secrets.token_urlsafe(24)
"""The bootstrap superuser's password: one per process, the template's (see `_template`)."""
_templates: dict[tuple[Path, str | None], Path] = {}
_templates_lock = threading.Lock()


class EngineVersionMismatch(RuntimeError):
    """No PostgreSQL of the stack's engine major was found: the message says which were, and what to install."""


@dataclass(frozen=True)
class PostgresBinaries:
    directory: Path
    version: str
    """`16.2`: what `postgres --version` says."""
    source: str
    """Where they come from: `pgserver 0.1.4` or `PATH`."""

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        return str(self.directory / name)


@functools.cache
def find_binaries(major: int) -> PostgresBinaries:
    """The PostgreSQL of major version `major`: pgserver's bundled binaries when the package is installed, else the
    one whose `pg_ctl` is on PATH. Raises EngineVersionMismatch, naming what was found, when neither is `major`."""
    found = [candidate for candidate in (_pgserver_binaries(), _path_binaries()) if candidate is not None]
    for candidate in found:
        if candidate.major == major:
            return candidate
    seen = "; ".join(f"PostgreSQL {c.version} from {c.source} ({c.directory})" for c in found) or "none"
    raise EngineVersionMismatch(
        f"the stack's Aurora engine is PostgreSQL {major} (components.database.ENGINE_VERSION), and the local cloud "
        f"runs SQL on the same major only; found: {seen}. Install requirements-dev.txt (pgserver bundles PostgreSQL "
        f"{major}) or put a PostgreSQL {major} first on PATH."
    )


def _pgserver_binaries() -> PostgresBinaries | None:
    """pgserver's bundled binaries, located without importing the package (its import sets up lock files)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent / "pginstall" / "bin"
    from importlib.metadata import version

    return _binaries(directory, f"pgserver {version('pgserver')}")


def _path_binaries() -> PostgresBinaries | None:
    pg_ctl = shutil.which("pg_ctl")
    return _binaries(Path(pg_ctl).resolve().parent, "PATH") if pg_ctl else None


def _binaries(directory: Path, source: str) -> PostgresBinaries | None:
    postgres = directory / "postgres"
    if not postgres.is_file():
        return None
    answer = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=False)
    match = _VERSION.search(answer.stdout)
    if match is None:
        return None
    return PostgresBinaries(directory, ".".join(part for part in match.groups() if part is not None), source)


class EmbeddedPostgres:
    """One PostgreSQL server in `root` (created, and removed on close) of major version `major`."""

    def __init__(self, root: Path, *, major: int, binaries: Callable[[int], PostgresBinaries] = find_binaries) -> None:
        self.root = root
        self.major = major
        self._find = binaries
        self.binaries: PostgresBinaries
        self.admin_password = _BOOTSTRAP_PASSWORD
        self._run_as: str | None = UNPRIVILEGED_USER if os.geteuid() == 0 else None
        self._data = root / "data"
        self._socket_dir: Path | None = None
        self._private: Path | None = None
        """A temporary directory of the server's own, outside `root` (see `_prepare_directories`), removed on close."""
        self._process: subprocess.Popen[bytes] | None = None
        self._starting: threading.Thread | None = None
        self._then: Callable[[EmbeddedPostgres], None] | None = None
        self._start_error: Exception | None = None
        self._running = False

    # Lifecycle

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Make the data directory, then start the server; refuses (EngineVersionMismatch) a PostgreSQL of another
        major first."""
        self.binaries = self._find(self.major)
        if self.binaries.major != self.major:  # a finder that does not check: refuse all the same
            raise EngineVersionMismatch(
                f"PostgreSQL {self.binaries.version} from {self.binaries.source} is not the engine's major {self.major}"
            )
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        try:
            self._prepare_directories()
            self._make_data_directory()
            self._start_server()
        except BaseException:
            self.close()
            raise

    def start_in_background(self, then: Callable[[EmbeddedPostgres], None] | None = None) -> None:
        """`start`, then `then(self)`, on a thread of their own (mostly another process's work and disk I/O):
        `wait_started` joins it and raises what either raised."""
        self._then = then
        self._starting = threading.Thread(target=self._start_recording_error, name=f"postgres {self.root.name}",
                                          daemon=True)  # fmt: skip
        self._starting.start()

    def wait_started(self) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._start_error is not None:
            raise self._start_error

    def _start_recording_error(self) -> None:
        try:
            self.start()
            if self._then is not None:
                self._then(self)
        except Exception as error:
            self._start_error = error

    def close(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove its directories."""
        if self._starting is not None and self._starting is not threading.current_thread():
            self._starting.join()
        self._stop_server()
        self._running = False
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def stop(self) -> None:
        """Stop the server and keep its data: the cluster's writer down (`restart` brings it back with its data).
        A fast shutdown (SIGINT), a clean stop that needs no recovery when it starts again."""
        self._stop_server(signal.SIGINT)
        self._running = False

    def restart(self) -> None:
        """Start the server `stop` stopped, on the same data directory."""
        if self._process is not None:
            raise RuntimeError(f"the server in {self.root} is running: stop it first")
        self._start_server()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def version(self) -> str:
        return self.binaries.version

    @property
    def data(self) -> Path:
        return self._data

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            raise RuntimeError("the server has not been started")
        return self._socket_dir

    # Using it

    def connect(self, user: str, password: str, database: str, **options: Any) -> psycopg.Connection[Any]:
        """A connection as `user` (psycopg.OperationalError when the server refuses the login), autocommit unless
        `options` say otherwise."""
        options.setdefault("autocommit", True)
        return psycopg.connect(host=str(self.socket_dir), port=PORT, user=user, password=password, dbname=database,
                               connect_timeout=10, **options)  # fmt: skip

    def admin(self, database: str = "template1") -> psycopg.Connection[Any]:
        """A connection as the server's superuser (the emulator's, never a caller's)."""
        return self.connect(BOOTSTRAP_USER, self.admin_password, database)

    def create_database(self, name: str, *, owner: str, password: str) -> None:
        """What RDS does when it creates a cluster: its master user (LOGIN, CREATEDB, CREATEROLE; not superuser)
        with the master password, and its database, owned by the master user."""
        with self.admin() as connection:
            connection.execute(sql.SQL("CREATE ROLE {} WITH LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(password)))  # fmt: skip
            connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name),
                                                                             sql.Identifier(owner)))  # fmt: skip

    # Steps

    def _prepare_directories(self) -> None:
        """The socket's directory and the data directory: `root` and `root/data`, except where the socket's path
        would be too long (then the socket goes to a private temporary directory) and when the server runs as
        another user. That user could reach `root` only while every directory above it lets others through, and
        pytest, for one, takes that bit off its `pytest-of-<user>` directory whenever a session starts, cutting a
        running server off its own files (seen as a PANIC at its next checkpoint): its data and socket are in a
        private temporary directory of its own instead, `root/data` a link to the data."""
        if self._run_as is None and len(str(self.root / f".s.PGSQL.{PORT}")) <= SOCKET_PATH_MAX:
            self._socket_dir = self.root
            return
        private = Path(tempfile.mkdtemp(prefix="pg-"))
        self._private = self._socket_dir = private
        if self._run_as is not None:
            self._data = private / "data"
            (self.root / "data").symlink_to(self._data, target_is_directory=True)
            account = pwd.getpwnam(self._run_as)
            os.chown(private, account.pw_uid, account.pw_gid)
            for directory in (private.parent, self.binaries.directory.parent / "lib", self.binaries.directory):
                _let_others_traverse(directory)

    def _make_data_directory(self) -> None:
        """The data directory: a copy of this process's initdb'd template for these binaries (initdb is the slowest
        step, most of a second; the copy a fraction of it)."""
        template = _template(self.binaries, self._run_as, self._tool)
        self._tool("cp", "-R", "-p", str(template), str(self.data), binary=shutil.which("cp") or "cp")

    def _start_server(self) -> None:
        """`postgres` as this process's child (pg_ctl would leave it to init, which in a container may never reap
        it), ready once its postmaster.pid says so."""
        settings = {**SERVER_SETTINGS, "port": str(PORT), "unix_socket_directories": str(self.socket_dir)}
        arguments = [item for name, value in settings.items() for item in ("-c", f"{name}={value}")]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen([self.binaries.tool("postgres"), "-D", str(self.data), *arguments],
                                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             cwd="/", **_identity(self._run_as))  # fmt: skip
        self._running = True
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _ready(self.data):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log_tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL did not start (exit code {self._process.poll()}):\n{log_tail}")
            time.sleep(READY_POLL_SECONDS)

    def _stop_server(self, how: signal.Signals = signal.SIGQUIT) -> None:
        """Shut the server down: immediately by default (SIGQUIT), when its data is thrown away and nothing needs
        flushing."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(how)
            try:
                self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _tool(self, name: str, *arguments: str, binary: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run one of PostgreSQL's programs (or `binary`) as the server's user."""
        answer = subprocess.run([binary or self.binaries.tool(name), *arguments], capture_output=True, text=True,
                                cwd="/", check=False, **_identity(self._run_as))  # fmt: skip
        if answer.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{name} failed ({answer.returncode}): {answer.stderr.strip() or answer.stdout.strip()}"
                               + (f"\nserver log:\n{log}" if log else ""))  # fmt: skip
        return answer


def _let_others_traverse(directory: Path) -> None:
    """Give every directory from `directory` up to the root the others-may-traverse bit (o+x) where it lacks it."""
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _identity(run_as: str | None) -> dict[str, Any]:
    """As root: run as the unprivileged user, with its own group and no other (root's group would match the
    directories' group and take their group bits, which deny what the others bits allow)."""
    if run_as is None:
        return {}
    account = pwd.getpwnam(run_as)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _template(
    binaries: PostgresBinaries, run_as: str | None, run: Callable[..., subprocess.CompletedProcess[str]]
) -> Path:
    """A data directory initdb'd once per process and binaries, for servers to copy: the bootstrap superuser with
    this process's password, SCRAM-SHA-256 logins only, UTF-8 with the C locale. Removed when the process exits."""
    key = (binaries.directory, run_as)
    with _templates_lock:
        if key in _templates and (_templates[key] / "PG_VERSION").exists():
            return _templates[key]
        parent = Path(tempfile.mkdtemp(prefix="pg-template-"))
        atexit.register(shutil.rmtree, parent, ignore_errors=True)
        password_file = parent / "bootstrap-password"
        password_file.write_text(_BOOTSTRAP_PASSWORD + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        if run_as is not None:
            account = pwd.getpwnam(run_as)
            for path in (parent, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        try:
            run("initdb", "-D", str(parent / "data"), "-U", BOOTSTRAP_USER, "--auth=scram-sha-256",
                f"--pwfile={password_file}", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
                f"--wal-segsize={TEMPLATE_WAL_SEGMENT_MB}")  # fmt: skip
        finally:
            password_file.unlink()
        _slim(parent / "data", binaries, run_as)
        _templates[key] = parent / "data"
        return _templates[key]


def _slim(data: Path, binaries: PostgresBinaries, run_as: str | None) -> None:
    """Leave only what a cluster's server needs in the template (every server copies it): `template1`, which each
    cluster's database is created from; not `postgres` nor `template0` (a third of the size each)."""
    socket_dir = data.parent
    settings = ["-c", "listen_addresses=", "-c", f"unix_socket_directories={socket_dir}", "-c", "fsync=off"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "stdin": subprocess.DEVNULL}
    server = subprocess.Popen([binaries.tool("postgres"), "-D", str(data), *settings], cwd="/", **quiet,
                              **_identity(run_as))  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _ready(data):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the template server did not start (exit code {server.poll()})")
            time.sleep(READY_POLL_SECONDS)
        with psycopg.connect(host=str(socket_dir), port=PORT, user=BOOTSTRAP_USER, password=_BOOTSTRAP_PASSWORD,
                             dbname="template1", autocommit=True) as connection:  # fmt: skip
            connection.execute("DROP DATABASE postgres")
            connection.execute("ALTER DATABASE template0 IS_TEMPLATE false")
            connection.execute("DROP DATABASE template0")
            connection.execute("CHECKPOINT")
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: a clean stop, so that copies start without recovery
        server.wait(timeout=STOP_TIMEOUT_SECONDS)


def _ready(data: Path) -> bool:
    """postmaster.pid's eighth line is the server's status: `ready` once it accepts connections."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"
