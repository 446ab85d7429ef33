"""Text fields of offers and needs: line breaks of every platform are kept as "\\n", and text
that shows otherwise than it reads (bidirectional overrides, line separators in a single
line, a title with no letter or digit) is refused with a message naming the field; the
letters, marks and symbols of real languages are not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, KINDS, Kind, assert_problem, create_item, item_payload, list_all


@pytest.fixture
def chile(make_key: KeyMaker) -> str:
    return make_key("country", "CHL")


def _post(client: TestClient, key: str, kind: Kind, **fields: Any) -> Any:
    return client.post(f"{API}/{kind}s", json=item_payload(kind, **fields), headers=bearer(key))


def _refused(response: Any, field: str, words: str) -> None:
    problem = assert_problem(response, 422, field)
    messages = [e["message"] for e in problem["errors"] if e["field"].endswith(f".{field}")]
    assert messages, problem
    assert words in messages[0], messages
    assert field in problem["detail"]


# --- line breaks -------------------------------------------------------------------------------

@pytest.mark.parametrize(("sent", "stored"), [
    ("Primera línea\r\nsegunda línea", "Primera línea\nsegunda línea"),
    ("a\r\nb\r\n\r\nc", "a\nb\n\nc"),
    ("Mac clásico\rsegunda", "Mac clásico\nsegunda"),
    ("mezcla\r\n\r\n\rfin", "mezcla\n\n\nfin"),
    ("ya en Unix\ncon tabulador\t", "ya en Unix\ncon tabulador"),
], ids=repr)
@pytest.mark.parametrize("kind", KINDS)
def test_create_description_with_windows_line_breaks_stores_newlines(
    app_client: TestClient, chile: str, kind: Kind, sent: str, stored: str
) -> None:
    response = _post(app_client, chile, kind, description=sent)

    assert response.status_code == 201, response.text
    assert response.json()["description"] == stored
    item = app_client.get(response.headers["location"], headers=bearer(chile)).json()
    assert item["description"] == stored


def test_update_description_with_windows_line_breaks_stores_newlines(
    app_client: TestClient, chile: str
) -> None:
    need = create_item(app_client, chile, "need")

    response = app_client.patch(f"{API}/needs/{need['id']}",
                                json={"description": "Uno\r\nDos\rTres"}, headers=bearer(chile))

    assert response.status_code == 200, response.text
    assert response.json()["description"] == "Uno\nDos\nTres"


@pytest.mark.parametrize("title", ["Dos\r\nlíneas", "Dos\rlíneas", "Dos\nlíneas"], ids=repr)
def test_create_title_with_a_line_break_of_any_platform_says_single_line(
    app_client: TestClient, chile: str, title: str
) -> None:
    _refused(_post(app_client, chile, "offer", title=title), "title", "single line")


# --- single lines, bidirectional controls, invisible titles ----------------------------------

@pytest.mark.parametrize(("field", "char"), [
    ("title", "\u2028"), ("title", "\u2029"),
    ("target_population", "\u2028"), ("target_population", "\u2029"),
], ids=repr)
def test_create_single_line_with_unicode_line_separator_returns_422(
    app_client: TestClient, chile: str, field: str, char: str
) -> None:
    response = _post(app_client, chile, "need", **{field: f"Primera parte{char}segunda parte"})

    _refused(response, field, "single line")
    assert list_all(app_client, chile, "need") == []


BIDI_CONTROLS = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]


@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["title", "description", "target_population"])
def test_create_text_with_bidirectional_control_returns_422(
    app_client: TestClient, chile: str, field: str, char: str
) -> None:
    response = _post(app_client, chile, "offer", **{field: f"Informe {char}fdp.exe final"})

    _refused(response, field, f"bidirectional control character (U+{ord(char):04X})")
    assert list_all(app_client, chile, "offer") == []


@pytest.mark.parametrize("title", [
    "\u200b\u200b\u200b",           # zero-width spaces
    "\u200b \u200c \u200d \u2060",  # zero-width (non-)joiners, word joiner
    "\u00ad\u00ad\u00ad",           # soft hyphens
    "\u3000\u200b\u3000\u200b",     # ideographic spaces around zero-width ones
    "...",
    "—–—",
    "¿?¡!",
    "🎉🎉🎉",
], ids=repr)
@pytest.mark.parametrize("kind", KINDS)
def test_create_title_without_letter_or_digit_returns_422(
    app_client: TestClient, chile: str, kind: Kind, title: str
) -> None:
    response = _post(app_client, chile, kind, title=title)

    _refused(response, "title", "at least one letter or digit")
    assert list_all(app_client, chile, kind) == []


@pytest.mark.parametrize(("kind", "title", "reason"), [
    ("offer", "Oferta \u202eatrevni", "bidirectional control character (U+202E)"),
    ("need", "\u200b\u200b\u200b", "at least one letter or digit"),
], ids=["right-to-left-override", "zero-width-spaces"])
def test_update_title_to_misleading_text_returns_422_and_changes_nothing(
    app_client: TestClient, chile: str, kind: Kind, title: str, reason: str
) -> None:
    item = create_item(app_client, chile, kind)

    response = app_client.patch(f"{API}/{kind}s/{item['id']}", json={"title": title},
                                headers=bearer(chile))

    _refused(response, "title", reason)
    assert app_client.get(f"{API}/{kind}s/{item['id']}", headers=bearer(chile)).json() == item


@pytest.mark.parametrize("text", [
    "Educación técnica: niñas, niños y jóvenes",
    "Formação e inserção de adolescentes",
    "L’école d’été de l’inspection — 2ᵉ édition",
    "Çocuk işçiliği İzmir’de",
    "Niños 👧🏽 y familias 👨‍👩‍👧 (ZWJ)",
    "برنامج عمل الأطفال\u200f 2026",          # Arabic with a right-to-left mark
    "תוכנית\u200e ILO",                        # Hebrew with a left-to-right mark
    "می\u200cخواهم آموزش",                     # Persian with a zero-width non-joiner
    "教育と児童労働",
    "2030",
    "Ñ",
    "¿Qué? ¡Sí! «Guillemets» “comillas” 50 % – 100 %",
], ids=repr)
@pytest.mark.parametrize("kind", KINDS)
def test_create_with_text_of_real_languages_stores_it_verbatim(
    app_client: TestClient, chile: str, kind: Kind, text: str
) -> None:
    title = text if len(text) >= 3 else f"{text}{text}{text}"

    response = _post(app_client, chile, kind, title=title, description=text,
                     target_population=text)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["title"], body["description"], body["target_population"]) == (title, text, text)


def test_create_with_empty_target_population_is_still_allowed(
    app_client: TestClient, chile: str
) -> None:
    response = _post(app_client, chile, "need", target_population="")

    assert response.status_code == 201, response.text
    assert response.json()["target_population"] == ""
