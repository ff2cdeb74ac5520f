"""The long-lived objects one process needs, built once from Settings and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.config import Environment, Settings
from finora_gql.core import db, telemetry
from finora_gql.core.cache import Cache, build_cache
from finora_gql.core.mail import Mailer, build_mailer
from finora_gql.core.pubsub import PubSub, build_pubsub
from finora_gql.core.ratelimit import RateLimiter, build_rate_limiter
from finora_gql.core.security import PasswordHasher, SigningKey, TokenCodec
from finora_gql.core.session_cache import SessionCache
from finora_gql.core.storage import Storage, build_storage


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None
    rate_limiter: RateLimiter
    cache: Cache
    mailer: Mailer
    pubsub: PubSub
    hasher: PasswordHasher
    tokens: TokenCodec
    storage: Storage
    # Sessions confirmed a moment ago (HTTP only); revocations drop them at once.
    session_cache: SessionCache = field(default_factory=SessionCache)

    async def start(self) -> None:
        await self.pubsub.start()
        await self.storage.start()

    async def aclose(self) -> None:
        await self.storage.aclose()
        await self.pubsub.stop()
        await self.rate_limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


def build_password_hasher(settings: Settings) -> PasswordHasher:
    if settings.env is Environment.TEST:
        # Cheap parameters in tests only: the suite hashes hundreds of passwords.
        return PasswordHasher(time_cost=1, memory_cost_kib=1024, parallelism=1)
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )


def build_token_codec(settings: Settings) -> TokenCodec:
    previous = None
    if settings.jwt_previous_secret is not None and settings.jwt_previous_secret_valid_until is not None:
        previous = SigningKey(
            settings.jwt_previous_secret.get_secret_value(), settings.jwt_previous_secret_valid_until
        )
    return TokenCodec(SigningKey(settings.signing_secret), previous, settings.access_token_ttl)


def build_runtime(settings: Settings, database_url: str) -> Runtime:
    engine = db.create_engine(database_url, pool_size=settings.database_pool_size)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    if redis is not None:
        telemetry.instrument_redis()  # command counts and latency (and spans, when tracing)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=db.sessionmaker(engine),
        redis=redis,
        rate_limiter=build_rate_limiter(redis),
        cache=build_cache(redis),
        mailer=build_mailer(
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            mail_from=settings.mail_from,
            smtp_username=settings.smtp_username,
            smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            smtp_starttls=settings.smtp_starttls,
            smtp_use_tls=settings.smtp_use_tls,
            smtp_timeout=settings.smtp_timeout,
            smtp_ca_file=settings.smtp_ca_file,
            outbox_dir=settings.outbox_dir,
        ),
        pubsub=build_pubsub(redis),
        hasher=build_password_hasher(settings),
        tokens=build_token_codec(settings),
        storage=build_storage(settings),
    )


