"""Password hashing is the slow part of signing up and in (argon2id, tens of milliseconds of CPU):
it runs with no database transaction open, so a burst of sign-ins cannot hold every pooled
connection while it hashes. Failed attempts are still counted, under the row lock, afterwards."""

from __future__ import annotations

import dataclasses

from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.auth import service
from finora_gql.auth.models import Credential
from finora_gql.core.db import atomic
from finora_gql.core.errors import ErrorCode, ServiceError
from finora_gql.core.security import PasswordHasher
from finora_gql.core.viewer import Viewer
from finora_gql.users import service as users
from tests.server import RunningServer, unique_email

PASSWORD = "correct horse battery staple 42"


class WatchingHasher:
    """The runtime's hasher, noting whether the session had a transaction open at each call."""

    def __init__(self, inner: PasswordHasher, session: AsyncSession) -> None:
        self._inner, self._session = inner, session
        self.open_at_call: list[bool] = []

    async def hash(self, password: str) -> str:
        self.open_at_call.append(self._session.in_transaction())
        return await self._inner.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self.open_at_call.append(self._session.in_transaction())
        return await self._inner.verify(password, password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


async def _watched(server: RunningServer, work) -> list[bool]:  # noqa: ANN001
    async with server.runtime.sessions() as session:
        hasher = WatchingHasher(server.runtime.hasher, session)
        rt = dataclasses.replace(server.runtime, hasher=hasher)
        try:
            async with atomic(session):
                await work(session, rt)
        except ServiceError as error:
            hasher.open_at_call.append(error.code.value)  # type: ignore[arg-type]
    return hasher.open_at_call


async def test_sign_up_and_sign_in_hash_without_a_transaction(server: RunningServer) -> None:
    email = unique_email("hashing")

    async def sign_up(session: AsyncSession, rt) -> None:  # noqa: ANN001
        await service.register(session, rt, email=email, password=PASSWORD, name="Hashing")

    assert await _watched(server, sign_up) == [False]
    assert await _watched(server, sign_up) == [False]  # a known address does the same work, unheld

    async def sign_in(password: str):  # noqa: ANN202
        async def work(session: AsyncSession, rt) -> None:  # noqa: ANN001
            await service.login(session, rt, email=email, password=password)
        return work

    assert await _watched(server, await sign_in(PASSWORD)) == [False]
    assert await _watched(server, await sign_in("wrong password, twice over")) == [False, ErrorCode.INVALID_CREDENTIALS.value]
    assert await _watched(server, await sign_in(PASSWORD + "?")) == [False, ErrorCode.INVALID_CREDENTIALS.value]
    assert await _watched(server, await sign_in(PASSWORD)) == [False]  # a success resets the count

    async with server.runtime.sessions() as session:
        user = await users.get_user_by_email(session, email)
        assert user is not None
        credential = await session.get(Credential, user.id)
        assert credential is not None and credential.failed_attempts == 0


async def test_failed_attempts_are_still_counted_to_the_lockout(server: RunningServer) -> None:
    attempts = server.runtime.settings.lockout_threshold
    email = unique_email("lockout-count")
    async with server.runtime.sessions() as session, atomic(session):
        await service.register(session, server.runtime, email=email, password=PASSWORD, name="Count")

    async def wrong(session: AsyncSession, rt) -> None:  # noqa: ANN001
        await service.login(session, rt, email=email, password="not it at all, no")

    outcomes = [(await _watched(server, wrong))[-1] for _ in range(attempts)]
    assert outcomes == [ErrorCode.INVALID_CREDENTIALS.value] * (attempts - 1) + [ErrorCode.ACCOUNT_LOCKED.value]
    # Locked now: refused before any hashing.
    assert await _watched(server, wrong) == [ErrorCode.ACCOUNT_LOCKED.value]


async def test_changing_the_password_hashes_without_a_transaction(server: RunningServer) -> None:
    email = unique_email("change-hashing")
    async with server.runtime.sessions() as session, atomic(session):
        user = await service.register(session, server.runtime, email=email, password=PASSWORD, name="Change")
    viewer = Viewer.acting_for(user.id)

    def change(current: str, new: str):  # noqa: ANN202
        async def work(session: AsyncSession, rt) -> None:  # noqa: ANN001
            await service.change_password(session, rt, viewer, current_password=current, new_password=new)
        return work

    # The current password checked, the new one compared with it, then hashed: all three unheld.
    assert await _watched(server, change(PASSWORD, PASSWORD + " anew")) == [False, False, False]
    assert await _watched(server, change(PASSWORD, "yet another long passphrase")) == [
        False, ErrorCode.INVALID_CREDENTIALS.value]
    assert await _watched(server, await _sign_in_with(email, PASSWORD + " anew")) == [False]


async def _sign_in_with(email: str, password: str):  # noqa: ANN202
    async def work(session: AsyncSession, rt) -> None:  # noqa: ANN001
        await service.login(session, rt, email=email, password=password)
    return work
