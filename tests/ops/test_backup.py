"""Backups: `finora-gql backup`, change the data, `finora-gql restore` into a fresh database:
every table equals the backup's; corrupted, foreign, undecryptable or unconfirmed restores are
refused with a clear message and change nothing."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from finora_gql.core import backup
from tests.flows import signed_in_user
from tests.processes import BIN, process_env
from tests.server import RunningServer

KEY = "backup passphrase " + "k" * 20


def cli(args: list[str], database_url: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = process_env(FINORA_ENV="test", DATABASE_URL=database_url, FINORA_DATA_DIR=str(tmp / "data"), **env)
    return subprocess.run([str(BIN / "finora-gql"), *args], env=environment, capture_output=True, text=True,
                          timeout=600, cwd=tmp)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def fingerprints(url: str) -> dict[str, dict]:
    connection = await asyncpg.connect(backup.asyncpg_dsn(url))
    try:
        return {table: await backup.table_fingerprint(connection, table) for table in await backup.table_names(connection)}
    finally:
        await connection.close()


async def fresh_database(url: str) -> str:
    name = f"finora_restore_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(backup.asyncpg_dsn(url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(url, name)


@pytest.mark.parametrize("encrypted", [False, True])
async def test_backup_change_restore_into_a_fresh_database(server: RunningServer, database_url: str, tmp_path: Path,
                                                           encrypted: bool) -> None:
    for _ in range(2):
        await signed_in_user(server)
    env = {"BACKUP_ENCRYPTION_KEY": KEY} if encrypted else {}
    file = tmp_path / "finora.backup"
    made = cli(["backup", "--output", str(file), "--checksums"], database_url, tmp_path, **env)
    assert made.returncode == 0, made.stderr
    assert f"wrote {file}" in made.stdout and ("encrypted" in made.stdout) == encrypted
    header = backup.read_header(file)
    manifest = header["manifest"]
    assert manifest["tables"]["user"]["rows"] >= 2 and manifest["alembic_revision"]
    assert header["encrypted"] is encrypted
    if encrypted:
        assert b"CREATE TABLE" not in file.read_bytes() and b"PGDMP" not in file.read_bytes()

    # The live data moves on after the backup.
    connection = await asyncpg.connect(backup.asyncpg_dsn(database_url))
    try:
        await connection.execute('UPDATE "user" SET name = $$changed after the backup$$')
        await connection.execute("DELETE FROM refresh_token WHERE ctid IN (SELECT ctid FROM refresh_token LIMIT 1)")
    finally:
        await connection.close()
    assert (await fingerprints(database_url))["user"] != manifest["tables"]["user"]

    target = await fresh_database(database_url)
    for _attempt in range(2):  # into an empty database, then again over the restored one
        restored = cli(["restore", str(file), "--yes"], target, tmp_path, **env)
        assert restored.returncode == 0, restored.stderr
        assert "every table matches the manifest" in restored.stdout
        now = await fingerprints(target)
        assert set(now) == set(manifest["tables"])
        for table, expected in manifest["tables"].items():
            assert now[table] == expected, table


async def test_bad_restores_are_refused_and_change_nothing(server: RunningServer, database_url: str,
                                                           tmp_path: Path) -> None:
    await signed_in_user(server)
    good = tmp_path / "good.backup"
    assert cli(["backup", "-o", str(good)], database_url, tmp_path).returncode == 0
    target = await fresh_database(database_url)
    assert cli(["restore", str(good), "--yes"], target, tmp_path).returncode == 0
    before = await fingerprints(target)

    data = bytearray(good.read_bytes())
    corrupted = tmp_path / "corrupted.backup"
    data[-100] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(good.read_bytes()[:-4096])
    foreign = tmp_path / "foreign.dump"
    dump = subprocess.run([backup.find_tools(18).tool("pg_dump"), "--format=custom"], env={
        **process_env(), **backup.libpq_env(database_url)}, capture_output=True, timeout=300)
    foreign.write_bytes(dump.stdout)
    assert dump.stdout.startswith(b"PGDMP")
    random_file = tmp_path / "random.bin"
    random_file.write_bytes(secrets.token_bytes(5000))
    encrypted = tmp_path / "encrypted.backup"
    assert cli(["backup", "-o", str(encrypted)], database_url, tmp_path, BACKUP_ENCRYPTION_KEY=KEY).returncode == 0

    cases = [
        (corrupted, {}, "is corrupted: its checksum does not match"),
        (truncated, {}, "is corrupted: its checksum does not match"),
        (foreign, {}, "is not a Finora backup"),
        (random_file, {}, "is not a Finora backup"),
        (tmp_path / "missing.backup", {}, "no such file"),
        (encrypted, {}, "the backup is encrypted: set BACKUP_ENCRYPTION_KEY"),
        (encrypted, {"BACKUP_ENCRYPTION_KEY": "not the key at all, no"}, "does not decrypt"),
    ]
    for file, env, message in cases:
        refused = cli(["restore", str(file), "--yes"], target, tmp_path, **env)
        assert refused.returncode == 1, (file, refused.stdout)
        assert "refused: " in refused.stderr and message in refused.stderr, (file, refused.stderr)
    unconfirmed = cli(["restore", str(good)], target, tmp_path)
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr and "tables" in unconfirmed.stdout
    assert await fingerprints(target) == before  # nothing was touched


def test_pg_dump_is_new_enough_for_the_server() -> None:
    assert backup.find_tools(15).major >= 15
    with pytest.raises(backup.BackupError, match="pg_dump 99 or newer is needed"):
        backup.find_tools(99)


def test_backup_and_restore_with_the_embedded_database(tmp_path: Path) -> None:
    """No DATABASE_URL: the commands start (or join) the embedded server in FINORA_DATA_DIR."""
    def embedded(*args: str) -> subprocess.CompletedProcess[str]:
        environment = process_env(FINORA_ENV="development", FINORA_DATA_DIR=str(tmp_path / "data"))
        return subprocess.run([str(BIN / "finora-gql"), *args], env=environment, capture_output=True, text=True,
                              timeout=600, cwd=tmp_path)

    assert embedded("migrate").returncode == 0
    file = tmp_path / "embedded.backup"
    made = embedded("backup", "-o", str(file), "--checksums")
    assert made.returncode == 0, made.stderr
    manifest = backup.read_header(file)["manifest"]
    assert "user" in manifest["tables"] and manifest["pg_dump_major"] >= 18  # the embedded server's own pg_dump
    restored = embedded("restore", str(file), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "every table matches the manifest" in restored.stdout
