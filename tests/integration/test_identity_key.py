"""One installation key for residents' ID numbers: appointments and matters hash with the same
`<data_dir>/person.key` (0600), and a data folder that already holds one keeps it."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select
from support.app import AppHall
from support.databases import database
from test_appointments import ID_A, ID_B, MONDAY, Frozen, book, edit

from server.engine.identity import id_hash
from server.services import identity
from server.store.models import AppointmentRow, MatterRow


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def app_on(stack: ExitStack, folder: Path) -> AppHall:
    url = stack.enter_context(database("sqlite", folder))
    app = AppHall.create(folder, url, edit=edit, clock=Frozen(MONDAY))
    stack.callback(app.close)
    return app


def open_matter(app: AppHall, id_number: str) -> str:
    applicant = {"name": "张三丰", "phone": "13812345678", "id_number": id_number}
    body = {"service": "social", "applicant": applicant, "proxy": True}
    r = app.post("/api/v1/halls/town/matters", body, app.counter_token("w2"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def appointments_of(app: AppHall, id_number: str) -> list[str]:
    """Appointments found by ID number, as a lookup does it: the keyed hash with the installation's key."""
    key = identity.identity_key(app.ctx.config.settings.data_dir)
    with app.ctx.db.read() as s:
        return list(s.scalars(select(AppointmentRow.code).where(AppointmentRow.id_hash == id_hash(key, id_number))))


def matters_of(app: AppHall, id_number: str) -> list[str]:
    key = identity.identity_key(app.ctx.config.settings.data_dir)
    with app.ctx.db.read() as s:
        return list(s.scalars(select(MatterRow.id).where(MatterRow.applicant_id_hash == id_hash(key, id_number))))


def test_a_data_folder_s_existing_person_key_is_kept_for_appointments_and_matters(
    tmp_path: Path, stack: ExitStack
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    made_before = secrets.token_hex(32)
    (folder / "person.key").write_text(made_before + "\n")
    (folder / "person.key").chmod(0o600)
    app = app_on(stack, folder)

    booked = book(app)
    assert booked.status_code == 201, booked.text
    matter = open_matter(app, ID_A)

    # the hashes are the ones that key gives: what appointments stored before the change still matches
    with app.ctx.db.read() as s:
        stored = s.scalars(select(AppointmentRow.id_hash)).one()
        matter_hash = s.scalars(select(MatterRow.applicant_id_hash).where(MatterRow.id == matter)).one()
    assert stored == id_hash(bytes.fromhex(made_before), ID_A) == matter_hash
    assert appointments_of(app, ID_A) == [booked.json()["code"]] and matters_of(app, ID_A) == [matter]
    assert appointments_of(app, ID_B) == [] and matters_of(app, ID_B) == []
    # the person limit finds the same resident again by ID number (another phone): 1 booking a day
    again = book(app, phone="13912345678", start="2026-12-08T09:15:00+08:00")
    assert again.status_code == 409 and again.json()["error"]["code"] == "booking_limit", again.text
    assert (folder / "person.key").read_text().strip() == made_before
    assert not (folder / "identity_key").exists()


def test_a_new_data_folder_gets_one_private_key_for_both(tmp_path: Path, stack: ExitStack) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()  # the config file lives there; no key yet
    app = app_on(stack, folder)
    assert book(app, id_number=ID_B).status_code == 201
    matter = open_matter(app, ID_B)
    key_file = folder / "person.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key_file.read_text().strip())) == 32
    assert len(appointments_of(app, ID_B)) == 1 and matters_of(app, ID_B) == [matter]
    assert not (folder / "identity_key").exists()
