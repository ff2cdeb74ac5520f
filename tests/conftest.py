"""Session-wide test infrastructure: embedded Postgres, a real SMTP server, servers on real ports.

Everything runs for real: uvicorn serves the app on a free port inside the test's event loop
(so tests can move the business clock), the database is the embedded PostgreSQL with
pgvector, mail goes through aiosmtpd with STARTTLS and AUTH.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

# Read when the job broker is configured (at import of the app): retry fast in tests.
os.environ.setdefault("JOB_MIN_BACKOFF_MS", "50")
os.environ.setdefault("JOB_MAX_BACKOFF_MS", "400")

import pytest  # noqa: E402

from finora_gql.config import Settings  # noqa: E402
from finora_gql.core import db  # noqa: E402
from tests.server import RunningServer, running_server  # noqa: E402
from tests.smtp_sink import SmtpSink  # noqa: E402


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("finora-data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    """A migrated database: TEST_DATABASE_URL when given, else the embedded server."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        db.migrate(explicit)
        yield explicit
        return
    with db.embedded_postgres(data_dir, database="finora_test") as url:
        db.migrate(url)
        yield url


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    sink = SmtpSink(tmp_path_factory.mktemp("smtp"))
    sink.start()
    yield sink
    sink.stop()


def make_settings(database_url: str, data_dir: Path, sink: SmtpSink | None, **overrides: object) -> Settings:
    """Test settings; unlimited per-IP rates (every test client is 127.0.0.1) unless overridden."""
    values: dict[str, object] = {
        "FINORA_ENV": "test",
        "FINORA_DATA_DIR": data_dir,
        "database_url": database_url,
        "jwt_secret": "test-secret-" + "x" * 40,
        "rate_limit_login_per_ip": "100000/60",
        "rate_limit_register_per_ip": "100000/60",
        "rate_limit_password_reset_per_ip": "100000/60",
        "rate_limit_login_per_email": "100000/60",
        "rate_limit_register_per_email": "100000/60",
        "rate_limit_password_reset_per_email": "100000/60",
    }
    if sink is not None:
        values.update(
            smtp_host=sink.host,
            smtp_port=sink.port,
            smtp_username=sink.username,
            smtp_password=sink.password,
            smtp_ca_file=str(sink.ca_file),
        )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path, smtp_sink: SmtpSink) -> Settings:
    return make_settings(database_url, data_dir, smtp_sink)


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running_server(settings) as running:
        yield running
