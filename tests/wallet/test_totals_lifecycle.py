"""A user's totals live and die with the user, like the rows they sum."""

from __future__ import annotations

from sqlalchemy import text

from tests.flows import node_uuid, signed_in_user
from tests.ledger.ledger_flows import create_account, create_txn
from tests.server import RunningServer

COUNT = "SELECT (SELECT count(*) FROM daily_total WHERE user_id = :u) + (SELECT count(*) FROM monthly_total WHERE user_id = :u)"


async def test_deleting_a_user_deletes_their_totals(server: RunningServer) -> None:
    leaving = await signed_in_user(server)
    staying = await signed_in_user(server)
    for user in (leaving, staying):
        account = await create_account(server, user.access_token)
        created = await create_txn(server, user.access_token, accountId=account["id"], date="2026-03-04", amount="-12.50")
        assert created["errors"] == [], created

    async with server.runtime.engine.begin() as connection:
        assert (await connection.execute(text(COUNT), {"u": node_uuid(leaving.user_id)})).scalar_one() == 2
        await connection.execute(text('DELETE FROM "user" WHERE id = :u'), {"u": node_uuid(leaving.user_id)})
    async with server.runtime.engine.connect() as connection:
        assert (await connection.execute(text(COUNT), {"u": node_uuid(leaving.user_id)})).scalar_one() == 0
        assert (await connection.execute(text(COUNT), {"u": node_uuid(staying.user_id)})).scalar_one() == 2
