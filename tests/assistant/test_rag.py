"""Retrieval: wordllama embeddings offline, the shipped corpus through HNSW, each person's documents
by an exact scan of their own rows, and `finora-gql reindex-assistant`."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from finora_gql.assistant import embeddings, rag
from finora_gql.assistant.models import EMBEDDING_DIMENSION
from finora_gql.core.viewer import Viewer
from tests.assistant.test_assistant_flow import _spender
from tests.flows import node_uuid
from tests.server import RunningServer


def test_corpus_has_a_hundred_sourced_tips() -> None:
    tips = rag.corpus()
    assert len(tips) >= 100
    assert len({t.key for t in tips}) == len(tips)
    assert all(t.url and t.url.startswith("https://") and len(t.content) < 300 for t in tips)


def test_wordllama_embeds_offline_at_256_dimensions() -> None:
    vectors = embeddings.wordllama_embed(["emergency fund", "rainy day savings", "netflix subscription"])
    assert all(len(v) == EMBEDDING_DIMENSION for v in vectors)
    assert abs(sum(x * x for x in vectors[0]) - 1) < 1e-4  # unit length: cosine distance is meaningful


async def test_retrieval_keeps_to_the_person_and_finds_tips(server: RunningServer) -> None:
    note = "reimbursed by Carol for the concert tickets"
    ann, _, _ = await _spender(server, note=note)
    bob, _, _ = await _spender(server)
    rt = server.runtime
    async with rt.sessions() as session:
        await rag.ensure_corpus(session, rt)
        for user in (ann, bob):
            await rag.refresh_user(session, rt, node_uuid(user.user_id))
        await session.commit()
    async with rt.sessions() as session:
        hits = await rag.retrieve(session, rt, Viewer.acting_for(node_uuid(ann.user_id)), "concert tickets Carol",
                                  mine=10, tips=3)
        assert any(h.source == "note" and "Carol" in h.content for h in hits)
        assert [h.source for h in hits].count("tip") == 3
        theirs = await rag.retrieve(session, rt, Viewer.acting_for(node_uuid(bob.user_id)), "concert tickets Carol",
                                    mine=10, tips=0)
        assert not any("Carol" in h.content for h in theirs)  # Ann's note never reaches Bob
        rows = (await session.exec(text("SELECT DISTINCT model, dimension FROM ai_context"))).all()
        assert rows == [("wordllama/l2_supercat-256", 256)]
        tips = await rag.retrieve(session, rt, Viewer.acting_for(node_uuid(bob.user_id)),
                                  "how big should my emergency fund be", mine=0, tips=3)
        assert any("emergency" in h.title.lower() for h in tips)
        # Refreshing again embeds nothing new.
        assert await rag.refresh_user(session, rt, node_uuid(ann.user_id)) == 0


def test_reindex_assistant_command(settings, tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "FINORA_DATA_DIR": str(tmp_path),
           "FINORA_ENV": "test", "JWT_SECRET": "x" * 40}
    result = subprocess.run([sys.executable, "-m", "finora_gql.cli", "reindex-assistant", "--corpus-only"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Embedded with wordllama/l2_supercat-256: 102 tips" in result.stdout
