"""Readiness to distribute Postgres by user (Citus), read from the migrated database itself.

A table is ready when it is a declared reference table (copied to every node: rates, securities,
prices, catalogs), is the users table (distributed by its own id), or has a `user_id` column in
its primary key or in a unique constraint. Today several tables are not: they are listed in
NOT_YET_READY, with what each needs (deploy/SCALING.md, "Postgres by user"). The list only
shrinks: a new table must be ready, and a table made ready must leave the list.
"""

from __future__ import annotations

import asyncpg

from finora_gql.core import backup

# Shared data, copied to every node: rates, market prices, the gamification catalogs.
REFERENCE_TABLES = {"fx_rate", "alembic_version", "price", "badge", "challenge", "reward"}
DISTRIBUTED_BY_OWN_ID = {"user"}
NOT_YET_READY = {
    # table: what it needs to be co-located with its user's rows
    "account": "primary key (user_id, id)",
    "audit_log": "a user_id (the subject) or a reference-table decision",
    "auth_session": "primary key (user_id, id)",
    "category_rule": "primary key (user_id, id)",
    "email_token": "primary key (user_id, id); token_hash unique per user",
    "file": "primary key (user_id, id); key unique per user",
    "goal": "primary key (user_id, id)",
    "goal_contribution": "primary key (user_id, id)",
    "import": "primary key (user_id, id)",
    "import_issue": "a user_id column, primary key (user_id, id)",
    "outgoing_email": "primary key (user_id, id); message_id unique per user",
    "refresh_token": "a user_id column, primary key (user_id, id); token_hash unique per user",
    "transaction": "primary key (user_id, id); (account_id, external_id) and (account_id, import_hash) unique with user_id",
    # Built in parallel with this test (stop 18), before its rule reached them:
    "activity": "primary key (user_id, id)",
    "investment_checkpoint": "primary key (user_id, id)",
    "conversation": "primary key (user_id, id)",
    "assistant_proposal": "primary key (user_id, id)",
    "assistant_tool_call": "a user_id column, primary key (user_id, id)",
    "job_outbox": "a reference-table decision (jobs of every user) or a user_id in its key",
}

KEYS = """
SELECT c.relname AS table_name, con.contype, array_agg(a.attname::text) AS columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(con.conkey)
WHERE con.contype IN ('p', 'u')
GROUP BY c.relname, con.oid, con.contype
UNION ALL
SELECT c.relname, 'i', array_agg(a.attname::text)
FROM pg_index ix
JOIN pg_class c ON c.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(ix.indkey)
WHERE ix.indisunique
GROUP BY c.relname, ix.indexrelid
"""


async def readiness(database_url: str) -> dict[str, bool]:
    connection = await asyncpg.connect(backup.asyncpg_dsn(database_url))
    try:
        tables = await backup.table_names(connection)
        keys = await connection.fetch(KEYS)
    finally:
        await connection.close()
    keyed = {row["table_name"] for row in keys if "user_id" in row["columns"]}
    return {table: table in REFERENCE_TABLES or table in DISTRIBUTED_BY_OWN_ID or table in keyed for table in tables}


async def test_every_table_of_user_data_is_keyed_by_user_or_a_known_gap(database_url: str) -> None:
    ready = await readiness(database_url)
    unready = {table for table, ok in ready.items() if not ok}
    new_gaps = unready - set(NOT_YET_READY)
    assert not new_gaps, f"tables of user data without user_id in a key: {sorted(new_gaps)}"
    fixed = set(NOT_YET_READY) - unready
    assert not fixed, f"ready now, remove from NOT_YET_READY: {sorted(fixed)}"
    print(f"\nready for distribution by user: {sorted(t for t, ok in ready.items() if ok)}"
          f"\nnot yet ({len(unready)}): {sorted(unready)}")
