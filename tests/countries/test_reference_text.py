"""Text of the reference data (factor labels and descriptions, grouping names) follows the
shared rules: line breaks of every platform are stored as "\\n"; bidirectional overrides, line
separators in a single line and labels with no letter or digit are refused, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem

FACTOR = {"code": "child_care", "labels": {"es": "Cuidado infantil", "en": "Child care"}}


@pytest.fixture
def admin(make_key: KeyMaker) -> str:
    return make_key("admin")


def test_create_factor_description_with_windows_line_breaks_stores_newlines(
    app_client: TestClient, admin: str
) -> None:
    body = FACTOR | {"descriptions": {"en": "Care services.\r\nParents work.\rChildren learn."}}

    response = app_client.post(f"{API}/factors", json=body, headers=bearer(admin))

    assert response.status_code == 201, response.text
    assert response.json()["descriptions"] == {
        "en": "Care services.\nParents work.\nChildren learn."}


@pytest.mark.parametrize(("path", "body", "field", "words"), [
    ("/factors", FACTOR | {"labels": {"es": "\u200b\u200b\u200b"}}, "labels.es",
     "at least one letter or digit"),
    ("/factors", FACTOR | {"labels": {"es": "Cuidado\u2028infantil"}}, "labels.es",
     "single line"),
    ("/factors", FACTOR | {"descriptions": {"en": "Care \u202eerac"}}, "descriptions.en",
     "bidirectional control character (U+202E)"),
    ("/groupings", {"code": "NEWG", "name": "\u2067Grupo\u2069"}, "name",
     "bidirectional control character (U+2067)"),
    ("/groupings", {"code": "NEWG", "name": "\u200b\u200b"}, "name",
     "at least one letter or digit"),
], ids=["label-invisible", "label-line-separator", "description-override", "grouping-isolate",
        "grouping-invisible"])
def test_create_reference_data_with_misleading_text_returns_422(
    app_client: TestClient, admin: str, path: str, body: dict[str, Any], field: str, words: str
) -> None:
    before = app_client.get(API + path, headers=bearer(admin)).json()

    response = app_client.post(API + path, json=body, headers=bearer(admin))

    problem = assert_problem(response, 422, field)
    messages = [e["message"] for e in problem["errors"] if e["field"].endswith(field)]
    assert messages, problem
    assert words in messages[0]
    assert app_client.get(API + path, headers=bearer(admin)).json() == before
