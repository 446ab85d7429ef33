"""Every offset-paged list (tables, pairings, follow-ups, keys, plans, a table's suggestions,
a pairing's history) can be walked by `cursor`; on the newest-first ones (tables, pairings,
keys) the cursor continues below the last row's id, on a history above it, so rows created
meanwhile do not shift the pages.

The page's `next_cursor` says "pass as `cursor`", as on the item lists; these lists also take
`offset`. A client that follows `next_cursor` must see every row once and then stop.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.followups.service import today
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, created, get, make_world

LISTS = ("/tables", "/pairings", "/followups", "/keys", "/tables/{table}/plans",
         "/tables/{table}/suggestions", "/pairings/{pairing}/history")


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    """A table with three of each row the offset-paged lists show."""
    world = make_world(api, make_key)
    for name in ("Mesa dos", "Mesa tres"):
        body = {"name": name, "starts_on": "2026-12-07", "ends_on": "2026-12-09",
                "participants": ["HTI", "CHL"]}
        resp = api.post(f"{API}/tables", json=body, headers=bearer(world.organizer))
        assert resp.status_code == 201, resp.text
    commitment = at_stage(world, "commitment")["id"]
    for provider in ("PER", "ARG"):
        created(world, need_id=world.need("HTI"), offer_id=world.offer(provider))
    due = (today() + timedelta(days=30)).isoformat()
    for title in ("Visita", "Taller", "Informe"):
        body = {"title": title, "responsible_country": "CHL", "due_on": due}
        resp = api.post(f"{API}/pairings/{commitment}/activities", json=body,
                        headers=bearer(world.admin))
        assert resp.status_code == 201, resp.text
    for _ in range(3):
        resp = api.post(f"{API}/tables/{world.table_id}/plan", headers=bearer(world.organizer))
        assert resp.status_code == 201, resp.text
    return world


def _ids(page: dict[str, Any]) -> list[Any]:
    return [item.get("id", item.get("number", (item.get("need_id"), item.get("offer_id"))))
            for item in page["items" if "items" in page else "events"]]


def _url(world: World, path: str) -> str:
    """A list's path in the world: its table, and its commitment for a pairing's history."""
    pairing = (get(world, "/pairings", stage="commitment")["items"][0]["id"]
               if "{pairing}" in path else None)
    return path.format(table=world.table_id, pairing=pairing)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", [1, 2])
def test_following_next_cursor_walks_every_row_once(world: World, path: str,
                                                     limit: int) -> None:
    url = _url(world, path)
    whole = get(world, url, limit=200)
    assert whole["total"] == len(_ids(whole)) >= 3
    assert whole["next_cursor"] is None
    seen, page = [], get(world, url, limit=limit)
    for _ in range(whole["total"]):  # a cursor that does not move on would loop for ever
        assert (page["total"], page["limit"]) == (whole["total"], limit)
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        page = get(world, url, limit=limit, cursor=page["next_cursor"])
    assert seen == _ids(whole)
    by_offset = get(world, url, limit=limit, offset=limit)
    assert _ids(by_offset) == _ids(whole)[limit:2 * limit]
    assert _ids(get(world, url, limit=limit, cursor="")) == _ids(get(world, url, limit=limit))


@pytest.mark.parametrize("path", ["/tables", "/pairings", "/keys"])
def test_rows_created_while_a_newest_first_list_is_paged_do_not_repeat_a_row(
        world: World, path: str) -> None:
    def create() -> None:
        if path == "/tables":
            resp = world.client.post(f"{API}/tables", headers=bearer(world.organizer), json={
                "name": "Mesa nueva", "starts_on": "2026-12-07", "ends_on": "2026-12-09"})
        elif path == "/keys":
            resp = world.client.post(f"{API}/keys", headers=bearer(world.admin),
                                     json={"role": "organizer"})
        else:
            created(world, need_id=world.need("HTI"), offer_id=world.offer("PER"))
            return
        assert resp.status_code == 201, resp.text

    whole = get(world, path, limit=200)
    first = get(world, path, limit=2)
    create()
    create()
    second = get(world, path, limit=2, cursor=first["next_cursor"])

    assert _ids(first) + _ids(second) == _ids(whole)[:4]  # as if nothing had been created
    assert second["total"] == whole["total"] + 2  # the count is of the list as it is now


def test_a_history_is_paged_oldest_first_and_events_added_meanwhile_come_last(
        world: World) -> None:
    commitment = get(world, "/pairings", stage="commitment")["items"][0]["id"]
    url = f"/pairings/{commitment}/history"

    def note(text: str) -> None:
        resp = world.client.post(f"{API}/pairings/{commitment}/notes", json={"text": text},
                                 headers=bearer(world.key("HTI")))
        assert resp.status_code == 201, resp.text

    for n in range(5):
        note(f"Avance {n}")
    whole = get(world, url, limit=200)
    first = get(world, url, limit=3)
    note("Escrita mientras se pagina")  # a new event, after every one of the first page
    seen, page = _ids(first), get(world, url, limit=3, cursor=first["next_cursor"])
    while True:
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        page = get(world, url, limit=3, cursor=page["next_cursor"])
    now = get(world, url, limit=200)

    assert whole["total"] >= 10 > 3
    assert whole["events"][0]["action"] == "created"
    assert _ids(whole) == sorted(_ids(whole))  # oldest first
    assert seen == _ids(now) == [*_ids(whole), _ids(now)[-1]]  # each once, the new one last
    assert now["events"][-1]["action"] == "note_added"
    assert (first["limit"], first["total"], now["total"]) == (3, whole["total"],
                                                             whole["total"] + 1)
    assert get(world, url)["limit"] == 50  # DEFAULT_PAGE_SIZE, as on every list


def test_followups_marked_done_while_the_overdue_list_is_paged_skip_no_row(
        world: World) -> None:
    commitment = get(world, "/pairings", stage="commitment")["items"][0]["id"]
    late = [(today() - timedelta(days=d)).isoformat() for d in (3, 2, 1)]
    for due in late:
        resp = world.client.post(f"{API}/pairings/{commitment}/activities",
                                 headers=bearer(world.admin),
                                 json={"title": "Informe atrasado", "due_on": due,
                                       "responsible_country": "HTI"})
        assert resp.status_code == 201, resp.text
    whole = get(world, "/followups", overdue="true", limit=200)
    assert len(whole["items"]) == 3
    first = get(world, "/followups", overdue="true", limit=1)
    done = world.client.patch(f"{API}/activities/{_ids(first)[0]}", json={"status": "done"},
                              headers=bearer(world.admin))  # dealt with: it leaves the list
    assert done.status_code == 200, done.text
    second = get(world, "/followups", overdue="true", limit=1, cursor=first["next_cursor"])
    third = get(world, "/followups", overdue="true", limit=1, cursor=second["next_cursor"])

    assert _ids(first) + _ids(second) + _ids(third) == _ids(whole)
    assert third["next_cursor"] is None
    assert second["total"] == 2  # the count is of the list as it is now
    # Only the cursor the service wrote is read: not with base64's padding, nor with a
    # character base64 would skip.
    for look_alike in (first["next_cursor"] + "=", first["next_cursor"][:4] + "." +
                       first["next_cursor"][4:]):
        resp = world.client.get(f"{API}/followups", params={"cursor": look_alike},
                                headers=bearer(world.admin))
        assert_problem(resp, 400, "cursor")


def test_an_activity_moved_while_a_pairings_activities_are_paged_skips_no_row(
        world: World) -> None:
    commitment = get(world, "/pairings", stage="commitment")["items"][0]["id"]
    url = f"/pairings/{commitment}/activities"
    for days in (10, 20, 30):
        resp = world.client.post(f"{API}{url}", headers=bearer(world.admin), json={
            "title": "Taller", "responsible_country": "HTI",
            "due_on": (today() + timedelta(days=days)).isoformat()})
        assert resp.status_code == 201, resp.text
    whole = get(world, url, limit=200)
    first = get(world, url, limit=2)
    # The first activity shown is put off to after the others: it leaves the first page.
    moved = world.client.patch(f"{API}/activities/{_ids(first)[0]}", headers=bearer(world.admin),
                               json={"due_on": (today() + timedelta(days=40)).isoformat()})
    assert moved.status_code == 200, moved.text
    rest = get(world, url, limit=200, cursor=first["next_cursor"])

    assert set(_ids(first) + _ids(rest)) == set(_ids(whole))  # none skipped
    assert _ids(rest) == _ids(whole)[2:] + _ids(first)[:1]  # the moved one, again, at its date


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("params", [
    {"cursor": "abc"}, {"cursor": "-1"}, {"cursor": "1.5"}, {"cursor": "1000001"},
    {"cursor": "٣"}, {"cursor": "2", "offset": 2}, {"cursor": "9" * 21}, {"cursor": "02"},
])
def test_a_cursor_no_page_gave_is_a_clear_error(world: World, path: str,
                                                params: dict[str, Any]) -> None:
    url = _url(world, path)
    before = get(world, url, limit=200)
    resp = world.client.get(f"{API}{url}", params=params, headers=bearer(world.admin))
    problem = assert_problem(resp, 422 if len(params["cursor"]) > 20 else 400)
    assert "cursor" in problem["detail"] or "cursor" in str(problem.get("errors"))
    assert get(world, url, limit=200) == before


@pytest.mark.parametrize("path", LISTS)
def test_a_limit_above_the_largest_page_is_a_clear_error(world: World, path: str) -> None:
    url = _url(world, path)
    before = get(world, url, limit=200)
    resp = world.client.get(f"{API}{url}", params={"limit": 201}, headers=bearer(world.admin))
    problem = assert_problem(resp, 400)  # as on the item lists
    assert problem["errors"] == [{"field": "limit", "message": "at most 200"}]
    assert get(world, url, limit=200) == before


@pytest.mark.parametrize("path", [*LISTS, "/offers", "/needs"])
def test_every_list_takes_its_page_sizes_from_the_settings(
        world: World, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.config import get_settings

    url = f"{API}{_url(world, path)}"
    monkeypatch.setenv("MAX_PAGE_SIZE", "2")
    monkeypatch.setenv("DEFAULT_PAGE_SIZE", "1")
    get_settings.cache_clear()
    try:
        default = world.client.get(url, headers=bearer(world.admin))
        largest = world.client.get(url, params={"limit": 2}, headers=bearer(world.admin))
        above = world.client.get(url, params={"limit": 3}, headers=bearer(world.admin))
    finally:
        get_settings.cache_clear()
    assert default.status_code == 200, default.text
    assert (default.json()["limit"], len(_ids(default.json()))) == (1, 1)
    assert default.json()["next_cursor"] is not None
    assert (largest.json()["limit"], len(_ids(largest.json()))) == (2, 2)
    assert assert_problem(above, 400)["errors"] == [{"field": "limit", "message": "at most 2"}]


@pytest.mark.parametrize(("path", "param"), [
    ("/pairings", "country"), ("/followups", "country"), ("/followups", "responsible"),
    ("/needs", "country"), ("/offers", "country"), ("/tables/{table}/suggestions", "country"),
])
def test_every_country_filter_takes_three_letters(world: World, path: str, param: str) -> None:
    url = f"{API}{_url(world, path)}"
    for bad in ("zz1", "٣٣٣", "CH"):
        resp = world.client.get(url, params={param: bad}, headers=bearer(world.admin))
        assert_problem(resp, 422, param)
    resp = world.client.get(url, params={param: "chl"}, headers=bearer(world.admin))
    assert resp.status_code == 200, resp.text
