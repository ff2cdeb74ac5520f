"""The console fills a catalog draft from its input by field name (admin/schema.py `_draft`): every
field of a create or update input must be a field of the draft, or its value would be dropped."""

from __future__ import annotations

import dataclasses

from finora_gql.admin import schema as console
from finora_gql.admin import types


def test_every_catalog_input_field_reaches_its_draft() -> None:
    for entries, inputs in (
        (console._BADGES, (types.CreateBadgeInput, types.UpdateBadgeInput)),
        (console._CHALLENGES, (types.CreateChallengeInput, types.UpdateChallengeInput)),
        (console._REWARDS, (types.CreateRewardInput, types.UpdateRewardInput)),
    ):
        drafted = {f.name for f in dataclasses.fields(entries.draft)}
        for input_type in inputs:
            named = {f.python_name for f in input_type.__strawberry_definition__.fields} - {"id"}
            assert named <= drafted, (input_type.__name__, named - drafted)
