"""`sscmatch keys create|list|revoke` against a committed database, checked through the API."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.cli.helpers import own_sqlite_file, run
from tests.conftest import bearer
from tests.factories import API, assert_problem


def _create_key(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status, out, _err = run(capsys, "keys", "create", *args)
    assert status == 0
    key_id = re.search(r"#(\d+)", out)
    assert key_id is not None, out
    return int(key_id.group(1)), out.strip().splitlines()[-1]


@pytest.mark.usefixtures("committed_db")
def test_keys_create_prints_key_alone_on_last_line_and_it_authenticates(
    capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _err = run(capsys, "keys", "create", "--role", "country", "--country", "per",
                            "--name", "Punto focal Perú")

    assert status == 0
    secret = out.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"ssc_[A-Za-z0-9_\-]{30,}", secret), secret
    with TestClient(create_app()) as client:
        response = client.get(f"{API}/countries/PER", headers=bearer(secret))
        assert response.status_code == 200
        keys = client.get(f"{API}/keys", headers=bearer(secret))
        assert_problem(keys, 403)


@pytest.mark.usefixtures("committed_db")
def test_keys_create_admin_key_manages_keys_through_api(
    capsys: pytest.CaptureFixture[str]
) -> None:
    _id, secret = _create_key(capsys, "--role", "admin")

    with TestClient(create_app()) as client:
        response = client.get(f"{API}/keys", headers=bearer(secret))
        forged = client.post(f"{API}/keys", json={"role": "admin", "name": "a\u202eb"},
                             headers=bearer(secret))

    assert response.status_code == 200
    assert [k["role"] for k in response.json()["items"]] == ["admin"]
    assert_problem(forged, 422)
    assert "bidirectional" in forged.text


@pytest.mark.usefixtures("committed_db")
def test_keys_list_shows_keys_without_secrets(
    capsys: pytest.CaptureFixture[str]
) -> None:
    first_id, first = _create_key(capsys, "--role", "organizer", "--name", "secretaría")
    second_id, second = _create_key(capsys, "--role", "country", "--country", "JAM")

    status, out, _err = run(capsys, "keys", "list")

    assert status == 0
    assert "secretaría" in out
    assert "JAM" in out
    assert first[:10] in out
    for secret in (first, second):
        assert secret not in out
        assert secret[10:] not in out
        assert hashlib.sha256(secret.encode()).hexdigest() not in out
    ids = [int(line.split()[0]) for line in out.splitlines()[1:]]
    assert ids == [second_id, first_id]


@pytest.mark.usefixtures("committed_db")
def test_keys_revoke_makes_key_fail_with_401(
    capsys: pytest.CaptureFixture[str]
) -> None:
    key_id, secret = _create_key(capsys, "--role", "organizer")

    status, out, _err = run(capsys, "keys", "revoke", str(key_id))

    assert status == 0
    assert f"#{key_id}" in out
    with TestClient(create_app()) as client:
        response = client.get(f"{API}/factors", headers=bearer(secret))
    assert_problem(response, 401)
    assert "revoked" in run(capsys, "keys", "list")[1]


@pytest.mark.usefixtures("committed_db")
def test_keys_revoke_twice_says_already_revoked_and_keeps_first_time(
    capsys: pytest.CaptureFixture[str]
) -> None:
    key_id, _secret = _create_key(capsys, "--role", "organizer")
    _admin_id, admin = _create_key(capsys, "--role", "admin")
    assert run(capsys, "keys", "revoke", str(key_id))[0] == 0
    with TestClient(create_app()) as client:
        first = client.get(f"{API}/keys", headers=bearer(admin)).json()["items"]

    status, out, err = run(capsys, "keys", "revoke", str(key_id))

    with TestClient(create_app()) as client:
        second = client.get(f"{API}/keys", headers=bearer(admin)).json()["items"]
    revoked_at = next(k["revoked_at"] for k in first if k["id"] == key_id)
    assert (status, err) == (0, "")
    assert out == (f"key #{key_id} was already revoked on {revoked_at[:10]} "
                   f"{revoked_at[11:16]} UTC; nothing changed\n")
    assert second == first


@pytest.mark.usefixtures("committed_db")
def test_keys_revoke_last_admin_key_revokes_it_and_warns_how_to_recover(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """The API refuses it (409); the command line is where a new admin key is made."""
    first_id, _first = _create_key(capsys, "--role", "admin")
    second_id, second = _create_key(capsys, "--role", "admin")

    status, _out, err = run(capsys, "keys", "revoke", str(first_id))
    assert (status, err) == (0, "")
    status, out, err = run(capsys, "keys", "revoke", str(second_id))

    assert (status, out) == (0, f"key #{second_id} revoked\n")
    assert err == ("warning: no active admin key is left; create one with "
                   "`sscmatch keys create --role admin`\n")
    with TestClient(create_app()) as client:
        assert_problem(client.get(f"{API}/keys", headers=bearer(second)), 401)


@pytest.mark.usefixtures("committed_db")
def test_keys_revoke_unknown_id_fails(
    capsys: pytest.CaptureFixture[str]
) -> None:
    status, _out, err = run(capsys, "keys", "revoke", "987654")

    assert status == 1
    assert "987654" in err


@pytest.mark.parametrize(("args", "message"), [
    (("--role", "country"), "--country"),
    (("--role", "country", "--country", "XXX"), "XXX"),
    (("--role", "country", "--country", "\u0131ta"), "\u0131"),  # str.upper() made it ITA
    (("--role", "admin", "--country", "CHL"), "country"),
    # Names are one line of text: none may break a line of `keys list`, forge or reorder one.
    *((("--role", "admin", "--name", name), "error: A key's name ") for name in (
        "Secretaría\n   9  admin     -       ssc_forged  active  Secretaría",
        "Secretaría\r", "Secretaría\x1b[2J", "Secretaría\u202egnp.exe", "Secretaría\u2066")),
])
@pytest.mark.usefixtures("committed_db")
def test_keys_create_with_bad_options_fails_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    status, out, err = run(capsys, "keys", "create", *args)

    assert status == 1
    assert message in err
    assert len(err.splitlines()) == 1
    assert "ssc_" not in out
    assert run(capsys, "keys", "list")[1].strip().count("\n") == 0


@pytest.mark.usefixtures("committed_db")
def test_keys_create_with_a_two_letter_country_names_its_three_letter_code(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """As every other command and the API's filters answer `GT` with `GTM`."""
    status, out, err = run(capsys, "keys", "create", "--role", "country", "--country", "br")

    assert status == 1
    assert err == ("error: Unknown country code 'br': use an ISO 3166-1 alpha-3 code such as "
                   "BRA (Brazil). (--country)\n")
    assert "ssc_" not in out


@pytest.mark.usefixtures("committed_db")
def test_keys_create_with_unknown_role_exits_2(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run(capsys, "keys", "create", "--role", "superuser")

    assert exc.value.code == 2


def test_output_to_a_reader_gone_stops_quietly_with_status_141(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sscmatch keys list | head -1` (or `rank | head`): the reader closes the pipe before
    the command is done. Before, the command said "error: Broken pipe" and exited with 1, as
    for a command that failed; now it stops without a word, with the status a shell gives a
    program stopped by SIGPIPE (128 + 13), as other command-line tools do."""
    with own_sqlite_file(tmp_path, monkeypatch, "Secretariat") as path:
        read_end, write_end = os.pipe()
        os.close(read_end)  # no reader at all: the first write fails, whenever it comes
        try:
            done = subprocess.run(
                [str(Path(sys.executable).with_name("sscmatch")), "keys", "list"],
                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
                env={**os.environ, "DATABASE_URL": f"sqlite:///{path}"})
        finally:
            os.close(write_end)

    assert (done.returncode, done.stderr) == (141, "")
