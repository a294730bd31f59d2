"""Demo data: two municipalities, a user for every role, persons with cameras in
different scenarios, check times over the coming hours, last month's nights behind
them and a night already under way (accounts/management/demo_night.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_PASSWORD
from accounts.management.demo_night import SETUP_LEAD, Staff, agreed_times, fill_history, start_tonight
from accounts.models import Membership, Role, Tenant, TotpDevice
from cameras.actions import (
    INSTALLATION_SLOT_MAX,
    book_installation,
    record_installation_consent,
    record_installation_test,
    save_camera,
)
from cameras.models import CameraDriverKind, InstallationKind
from checks.actions.agreements import save_agreement
from checks.models import CheckForm, EscalationKind
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.crypto import encrypt
from people.actions import register_consent, register_decision, save_person
from people.models import ConsentMethod
from sso.actions import save_provider
from sso.demo_idp import CLIENT_ID, DEMO_IDP_GROUPS, DEMO_IDP_SECRET, DEMO_IDP_SLUG, demo_idp_port
from sso.models import ClaimMapping, IdentityProvider

ONVIF_DEMO_CAMERA = {
    "driver": CameraDriverKind.ONVIF_PTZ,
    "model": "Simulerad PTZ-kamera (ONVIF)",
    "onvif_address": "127.0.0.1:8557",  # 8556 is the demo identity provider
    "onvif_profile": "main",
    "view_preset": "view",
    "privacy_preset": "privacy",
}
# Demo only: every demo user's authenticator key. Add it to any TOTP app
# (or run `manage.py demo_code`) to get the login code.
DEMO_TOTP_SECRET = "NATTILLSYNDEMOKEYNATTILLSYNDEMO2"

# name, personnummer, camera scenario (None: no camera), installation tested
DEMO_PERSONS = [
    ("Astrid Andersson", "194001019803", "asleep", True),
    ("Bertil Berg", "193512249800", "asleep", True),
    ("Cecilia Carlsson", "194203039807", "empty", True),
    ("David Dahl", "193807079805", "floor", True),
    ("Elsa Ek", "194111119808", "dark", True),
    ("Folke Fors", "194505051237", "frozen", True),
    ("Greta Gran", "193003154568", "offline", True),
    ("Harald Holm", "192908083211", "asleep", False),
    ("Ingrid Lind", "193311112340", None, False),
    ("Johan Johansson", "192802022224", "asleep", True),
]
# The neighbouring municipality's persons, whom only the alarm centre sees with the demo's.
# Their cameras have streams of their own (run_simcam starts one per stream).
GRANNBY_PERSONS = [
    ("Karin Kvist", "193606061236", "asleep", True),
    ("Lennart Lund", "194109092462", "empty", True),
]


class Command(BaseCommand):
    help = "Create demo municipalities, users and persons (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not Tenant.objects.filter(slug="demo").exists():
            start = clock.now()
            # The persons are set up a little before now, so tonight's first events
            # (start_tonight) happen at their own times, through the worker and the actions.
            fake = FakeClock(start - SETUP_LEAD)
            clock.set_now_provider(fake)
            # The cameras and the gateway start after the seed (`make run`): their calls
            # for tonight's first checks fail, which is no news to whoever starts the demo.
            quiet = [logging.getLogger(name) for name in ("cameras.drivers", "cameras.gateway_client")]
            levels = [logger.level for logger in quiet]
            for logger in quiet:
                logger.setLevel(logging.ERROR)
            try:
                with transaction.atomic():
                    self.seed(fake, start)
            finally:
                clock.reset()
                for logger, level in zip(quiet, levels, strict=True):
                    logger.setLevel(level)
        self.stdout.write(
            self.style.SUCCESS(
                "\nNattillsyn demo: open http://127.0.0.1:8000/ and log in as one of\n"
                + "".join(f"  demo-{role:<14} ({Role(role).label})\n" for role in Role.values)
                + "  larmcentral        (alarm-centre operator for both municipalities)\n"
                + "  grannby-<role>     (the same roles in Grannby kommun)\n"
                + f"password for all: {DEMO_PASSWORD}\n"
                + f"second factor: authenticator key {DEMO_TOTP_SECRET} (or `.venv/bin/python manage.py demo_code`)\n"
                + 'or "Logga in med Demo-IdP" (single sign-on): sso-nattpersonal, sso-nattpatrull or\n'
                + f"  sso-arbetsledare, password {DEMO_PASSWORD}; the provider vouches for the second factor\n"
            )
        )

    @staticmethod
    def seed_identity_provider(demo: Tenant) -> None:
        """Single sign-on with the demo's provider (`manage.py run_demo_idp`)."""
        provider = save_provider(
            IdentityProvider(
                slug=DEMO_IDP_SLUG,
                name="Demo-IdP",
                issuer=f"http://127.0.0.1:{demo_idp_port()}",
                client_id=CLIENT_ID,
            ),
            actor=None,
            client_secret=DEMO_IDP_SECRET,
        )
        for group, role in DEMO_IDP_GROUPS.items():
            ClaimMapping.objects.create(provider=provider, group=group, tenant=demo, role=role)

    def seed(self, fake: FakeClock, start: datetime) -> None:
        users = get_user_model().objects
        # One hash for all: each takes the better part of a second, by design.
        password = make_password(DEMO_PASSWORD)
        demo = Tenant.objects.create(name="Demo kommun", slug="demo")
        neighbour = Tenant.objects.create(name="Grannby kommun", slug="grannby")
        staff: dict[str, dict[str, Any]] = {"demo": {}, "grannby": {}}
        for tenant in (demo, neighbour):
            for role in Role.values:
                user = users.create(username=f"{tenant.slug}-{role}", password=password)
                staff[tenant.slug][role] = user
                Membership.objects.create(user=user, tenant=tenant, role=role)
        alarm_centre = users.create(username="larmcentral", password=password)
        for tenant in (demo, neighbour):
            Membership.objects.create(user=alarm_centre, tenant=tenant, role=Role.OPERATOR)
        admin = users.create(username="admin", password=password, is_staff=True, is_superuser=True)
        Membership.objects.create(user=admin, tenant=demo, role=Role.ADMINISTRATOR)
        for user in users.all():
            TotpDevice.objects.create(user=user, secret_encrypted=encrypt(DEMO_TOTP_SECRET), confirmed_at=clock.now())
        self.seed_identity_provider(demo)

        persons = [(demo, person, f"cam{index + 1:02d}") for index, person in enumerate(DEMO_PERSONS)] + [
            (neighbour, person, f"grannby{index + 1:02d}") for index, person in enumerate(GRANNBY_PERSONS)
        ]
        for index, (tenant, (name, number, scenario, tested), camera_name) in enumerate(persons):
            self.seed_person(
                tenant, staff[tenant.slug], index, name, number, scenario, tested, camera_name, start=start
            )
        training = save_camera(
            None,
            actor=staff["demo"][Role.INSTALLER],
            tenant=demo,
            name="training",
            model="Övningskamera",
            driver=CameraDriverKind.SIMULATED,
            stream_url="rtsp://127.0.0.1:8554/training",
            username="demo",
            password="demo",
            simulated_scenario="asleep",
            training_only=True,
        )
        assert training.person_id is None
        night_staff = Staff(
            operator=staff["demo"][Role.OPERATOR], patrol=staff["demo"][Role.PATROL], alarm_centre=alarm_centre
        )
        fill_history([demo, neighbour], night_staff, start=start, agreed_at=clock.now())
        start_tonight(fake, night_staff, start=start)

    def seed_person(
        self,
        tenant: Tenant,
        staff: dict[str, Any],
        index: int,
        name: str,
        number: str,
        scenario: str | None,
        tested: bool,
        camera_name: str,
        *,
        start: datetime,
    ) -> None:
        today = clock.today()
        person = save_person(
            None,
            actor=staff[Role.PLANNER],
            tenant=tenant,
            name=name,
            personnummer=number,
            unit="Hemtjänst Norr" if index % 2 else "Hemtjänst Söder",
            address=f"{name.split()[1]}vägen {index + 3}, 123 45 {'Demoby' if tenant.slug == 'demo' else 'Grannby'}",
            phone=f"070-100 00 {index:02d}",
            relative_name="Anhörig",
            relative_phone=f"073-200 00 {index:02d}",
            entry_notes=f"Nyckelgömma vid dörren, kod {1000 + index * 7}",
        )
        # Decision and consent from before last month, which the demo's history covers.
        register_decision(
            person,
            actor=staff[Role.CASE_OFFICER],
            decided_on=today - timedelta(days=80),
            valid_from=today - timedelta(days=70),
            valid_to=None,
            review_on=today + timedelta(days=150),
            reference=f"SOL-{2026}-{100 + index}",
        )
        if scenario is not None:
            register_consent(
                person,
                actor=staff[Role.PLANNER],
                given_by=name,
                method=ConsentMethod.WRITTEN,
                given_at=clock.now() - timedelta(days=70),
                valid_until=None,
            )
            camera = save_camera(
                None,
                actor=staff[Role.INSTALLER],
                tenant=tenant,
                name=camera_name,
                stream_url=f"rtsp://127.0.0.1:8554/{camera_name}",
                # Every simulated camera also serves a half-size stream, for a weak uplink (docs/NETWORKS.md).
                sub_stream_url=f"rtsp://127.0.0.1:8554/{camera_name}/sub",
                username="demo",
                password="demo",
                placement_note="Taket ovanför sängen",
                person=person,
                simulated_scenario=scenario,
                # The first camera is a pan/tilt camera driven over ONVIF (simcam answers
                # ONVIF for it on this port, with these presets; docs/CAMERAS.md).
                **(
                    ONVIF_DEMO_CAMERA
                    if camera_name == "cam01"
                    else {"model": "Simulerad nattkamera 720p", "driver": CameraDriverKind.SIMULATED}
                ),
            )
            if tested:
                record_installation_test(
                    camera,
                    actor=staff[Role.INSTALLER],
                    operator=staff[Role.OPERATOR],
                    passed=True,
                    notes="Bild OK i mörker",
                )
            else:
                # The installation test is booked for the demo's first hours, and the
                # person's consent to it recorded beforehand, so the operator can show it.
                booking = book_installation(
                    camera,
                    actor=staff[Role.INSTALLER],
                    starts_at=start,
                    ends_at=start + INSTALLATION_SLOT_MAX,
                    kind=InstallationKind.INSTALLATION,
                )
                record_installation_consent(
                    booking, actor=staff[Role.PLANNER], given_by=name, method=ConsentMethod.ORAL
                )
        save_agreement(
            person,
            actor=staff[Role.PLANNER],
            retry_delay_min=15,
            notes="",
            times=[(agreed, CheckForm.CAMERA) for agreed in agreed_times(index, name, start)],
            escalation_steps=[EscalationKind.VISIT, EscalationKind.CALL_RELATIVE],
        )
