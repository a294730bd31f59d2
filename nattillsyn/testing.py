"""The test world: a municipality with a user in every role, a person ready for camera
checks, and an outsider municipality whose users must never see any of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Membership, Role, Tenant, TotpDevice
from accounts.second_factor import SESSION_KEY
from cameras.actions import record_installation_test, save_camera
from cameras.models import Camera, CameraDriverKind
from cameras.simulated import show_picture  # noqa: F401 (importable from here, as the tests do)
from checks.actions.agreements import save_agreement
from checks.models import CheckForm, EscalationKind
from nattillsyn import clock
from nattillsyn.crypto import encrypt
from people.actions import register_consent, register_decision, save_person
from people.models import ConsentMethod, Person

PASSWORD = "nattillsyn-test-password"
# Every test user's authenticator app holds this key (tests compute codes with pyotp).
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Valid personnummer (check digit correct) for test persons.
TEST_PERSONNUMMER = ["194001019803", "193512249800", "194203039807", "193807079805", "194111119808"]


@dataclass
class Municipality:
    tenant: Tenant
    users: dict[str, User] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.users[role]


def make_user(username: str, tenant: Tenant, *roles: str) -> User:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    TotpDevice.objects.create(user=user, secret_encrypted=encrypt(TEST_TOTP_SECRET), confirmed_at=clock.now())
    for role in roles:
        Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def make_municipality(name: str, slug: str) -> Municipality:
    tenant = Tenant.objects.create(name=name, slug=slug)
    municipality = Municipality(tenant=tenant)
    for role in Role.values:
        municipality.users[role] = make_user(f"{slug}-{role}", tenant, role)
    return municipality


def make_training_camera(municipality: Municipality) -> Camera:
    """A simulated camera for operator training: shows nobody, belongs to no person."""
    return save_camera(
        None,
        actor=municipality.user(Role.INSTALLER),
        tenant=municipality.tenant,
        name="training",
        model="Sim",
        driver="simulated",
        stream_url="rtsp://127.0.0.1:8554/training",
        training_only=True,
    )


def make_person(
    municipality: Municipality,
    name: str,
    *,
    personnummer: str,
    times: list[time] | None = None,
    camera_url: str = "rtsp://127.0.0.1:8554/cam1",
    with_camera: bool = True,
    tested: bool = True,
    consent: bool = True,
    retry_delay_min: int = 15,
    decision_from: date | None = None,
) -> Person:
    """A person with a decision, consent, agreement and a tested camera (each optional)."""
    planner = municipality.user(Role.PLANNER)
    today = clock.today()
    person = save_person(
        None,
        actor=planner,
        tenant=municipality.tenant,
        name=name,
        personnummer=personnummer,
        address=f"{name}s väg 1, 123 45 Orten",
        phone="070-1234567",
        entry_notes="Nyckel i nyckelgömma, kod 1234",
        relative_name="Anhörig",
        relative_phone="070-7654321",
    )
    register_decision(
        person,
        actor=municipality.user(Role.CASE_OFFICER),
        decided_on=today - timedelta(days=30),
        valid_from=decision_from or today - timedelta(days=30),
        valid_to=None,
        review_on=today + timedelta(days=180),
    )
    if consent:
        register_consent(
            person,
            actor=planner,
            given_by=name,
            method=ConsentMethod.WRITTEN,
            given_at=clock.now() - timedelta(days=20),
            valid_until=None,
        )
    if with_camera:
        camera = save_camera(
            None,
            actor=municipality.user(Role.INSTALLER),
            tenant=municipality.tenant,
            name=f"cam-{person.id}",
            model="Sim Night 720p",
            driver=CameraDriverKind.SIMULATED,
            stream_url=camera_url,
            username="demo",
            placement_note="Över sängen",
            person=person,
            password="demo",
        )
        if tested:
            record_installation_test(
                camera, actor=municipality.user(Role.INSTALLER), operator=municipality.user(Role.OPERATOR), passed=True
            )
    save_agreement(
        person,
        actor=planner,
        retry_delay_min=retry_delay_min,
        notes="",
        times=[(agreed, CheckForm.CAMERA) for agreed in (times or [time(23, 0), time(2, 0), time(5, 0)])],
        escalation_steps=[EscalationKind.VISIT, EscalationKind.CALL_RELATIVE],
    )
    return person


def camera_of(person: Person) -> Camera:
    return Camera.objects.get(person=person)


def at_stockholm(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=clock.STOCKHOLM)


class SecondFactorClient(Client):
    """A logged-in user who keeps working: force_login also counts the second factor
    as done, and each request finds the session fresh, however far a test moves the
    fake clock. The login steps and the session timeouts themselves are tested with
    the plain client (accounts/tests/test_login.py) and in the browser (e2e/).
    """

    def force_login(self, user: Any, backend: str | None = None) -> None:
        super().force_login(user, backend)
        session = self.session
        session[SESSION_KEY] = clock.now().timestamp()
        session.save()

    def request(self, **request: Any) -> Any:
        if self.session.get("login_at") is not None:
            session = self.session
            session["login_at"] = session["last_seen"] = clock.now().timestamp()
            session.save()
        return super().request(**request)
