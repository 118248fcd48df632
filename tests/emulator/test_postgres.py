"""The local cloud's embedded PostgreSQL: the engine's major version or nothing, password logins only, a master user
that is not a superuser, and nothing left behind when it stops."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from components.database import ENGINE_MAJOR_VERSION, ENGINE_VERSION
from emulator.postgres import BOOTSTRAP_USER, EmbeddedPostgres, EngineVersionMismatch, PostgresBinaries, find_binaries


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(
        tmp_path_factory.mktemp("workdir") / "postgres" / "catalog", major=ENGINE_MAJOR_VERSION
    ) as on:
        on.create_database("catalog", owner="catalog_owner", password="owner-password")
        yield on


def test_the_bundled_postgresql_has_the_engines_major_version(server):
    found = find_binaries(ENGINE_MAJOR_VERSION)
    assert (found.major, found.source) == (ENGINE_MAJOR_VERSION, "pgserver 0.1.4"), found
    assert found.version == "16.2", f"pgserver 0.1.4 bundles 16.2 (the stack says {ENGINE_VERSION}); now {found}"
    with server.admin() as connection:
        [(number,)] = connection.execute("SHOW server_version_num").fetchall()
    assert int(number) // 10000 == ENGINE_MAJOR_VERSION


def test_another_major_is_refused_before_anything_starts(tmp_path):
    other = PostgresBinaries(Path("/usr/lib/postgresql/15/bin"), "15.18", "PATH")
    server = EmbeddedPostgres(tmp_path / "postgres", major=ENGINE_MAJOR_VERSION, binaries=lambda major: other)
    with pytest.raises(
        EngineVersionMismatch,
        match=re.escape(f"PostgreSQL 15.18 from PATH is not the engine's major {ENGINE_MAJOR_VERSION}"),
    ):
        server.start()
    assert not (tmp_path / "postgres").exists()


def test_a_refusal_in_the_background_is_raised_where_the_server_is_awaited(tmp_path):
    other = PostgresBinaries(Path("/usr/lib/postgresql/15/bin"), "15.18", "PATH")
    server = EmbeddedPostgres(tmp_path / "postgres", major=ENGINE_MAJOR_VERSION, binaries=lambda major: other)
    server.start_in_background()
    with pytest.raises(EngineVersionMismatch, match=re.escape("PostgreSQL 15.18 from PATH")):
        server.wait_started()
    server.close()
    assert not server.running


def test_no_postgresql_of_the_major_names_what_was_found_and_what_to_install():
    with pytest.raises(EngineVersionMismatch) as refused:
        find_binaries(99)
    message = str(refused.value)
    assert "the stack's Aurora engine is PostgreSQL 99" in message
    assert "PostgreSQL 16.2 from pgserver 0.1.4" in message
    assert "Install requirements-dev.txt" in message


def test_logins_need_their_password(server):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        server.connect("catalog_owner", "guess", "catalog")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        server.connect(BOOTSTRAP_USER, "not-the-password", "template1")
    with server.connect("catalog_owner", "owner-password", "catalog") as connection:
        row = connection.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        assert row.fetchall() == [(False, True, True)], "the master user is what RDS makes it, not a superuser"
        [(owner,)] = connection.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'catalog'")
        assert owner == "catalog_owner"


def test_the_server_listens_on_its_socket_only_and_runs_in_utc(server):
    with server.admin() as connection:
        settings = dict(connection.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                           "('listen_addresses', 'TimeZone', 'password_encryption')"))  # fmt: skip
    assert settings == {"listen_addresses": "", "TimeZone": "UTC", "password_encryption": "scram-sha-256"}
    assert (server.socket_dir / ".s.PGSQL.5432").exists()


def test_its_data_lives_under_the_workdir_and_goes_when_it_stops(tmp_path):
    root = tmp_path / "postgres" / "cluster"
    with EmbeddedPostgres(root, major=ENGINE_MAJOR_VERSION) as server:
        assert (root / "data" / "PG_VERSION").read_text().strip() == str(ENGINE_MAJOR_VERSION)
        if os.geteuid() == 0:
            assert (root / "data").stat().st_uid != 0, "as root, the server runs as an unprivileged user"
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        data = (root / "data").resolve()  # as root, a private directory that root/data links to
    assert not server.running
    assert not root.exists()
    assert not data.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_stopped_server_starts_again_with_its_data(server):
    with server.connect("catalog_owner", "owner-password", "catalog") as connection:
        connection.execute("CREATE TABLE survivors AS SELECT 'kept' AS name")
    server.stop()
    assert not server.running
    with pytest.raises(psycopg.OperationalError, match="No such file or directory"):
        server.connect("catalog_owner", "owner-password", "catalog")
    server.restart()
    with server.connect("catalog_owner", "owner-password", "catalog") as connection:
        assert connection.execute("SELECT name FROM survivors").fetchall() == [("kept",)]
        connection.execute("DROP TABLE survivors")


@pytest.mark.skipif(os.geteuid() != 0, reason="only a server run as another user needs others let through")
def test_a_server_run_as_another_user_keeps_its_files_when_the_workdir_shuts_others_out(tmp_path):
    """As pytest does to its `pytest-of-<user>` directory whenever a session starts."""
    workdir = tmp_path / "workdir"
    with EmbeddedPostgres(workdir / "postgres", major=ENGINE_MAJOR_VERSION) as server:
        workdir.chmod(0o700)
        with server.admin() as connection:
            connection.execute("CHECKPOINT")  # writes pg_control by its absolute path
        server.stop()
        server.restart()
        with server.admin() as connection:
            assert connection.execute("SELECT 1").fetchall() == [(1,)]
