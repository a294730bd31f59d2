"""The demo `make run` seeds (seed_demo): a whole night of work from whenever it starts,
last night and last month behind it, two municipalities, and trouble already under way."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD
from accounts.models import Role, Tenant
from cameras.models import Camera, ViewGrant
from checks.models import Alarm, Attempt, Check, CheckState, Escalation, EscalationCause, EscalationState
from nattillsyn import clock
from nattillsyn.clock import FakeClock
from nattillsyn.testing import SecondFactorClient
from reports import figures
from reports.models import NightTally

pytestmark = pytest.mark.django_db


def seed(fake_clock: FakeClock) -> None:
    call_command("seed_demo", stdout=StringIO())
    clock.set_now_provider(fake_clock)  # seed_demo sets the clock back to the real one


def counts() -> dict[str, int]:
    models = [get_user_model(), Tenant, Camera, Check, Attempt, ViewGrant, Escalation, Alarm, NightTally]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.parametrize("start", [(2026, 11, 23, 21, 0), (2026, 11, 24, 9, 30)], ids=["evening", "morning"])
def test_it_has_checks_due_every_few_minutes_for_hours(fake_clock: FakeClock, start: tuple[int, ...]) -> None:
    fake_clock.set(datetime(*start, tzinfo=clock.STOCKHOLM))
    seed(fake_clock)
    now = fake_clock()
    coming = sorted(
        Check.objects.filter(state=CheckState.PLANNED, scheduled_at__gt=now).values_list("scheduled_at", flat=True)
    )
    six_hours = [at for at in coming if at <= now + timedelta(hours=6)]
    assert len(six_hours) >= 60
    gaps = [later - earlier for earlier, later in zip([now, *six_hours], six_hours, strict=False)]
    assert max(gaps) <= timedelta(minutes=10)
    assert six_hours[-1] >= now + timedelta(hours=5, minutes=50)
    assert Check.objects.filter(state=CheckState.DUE).exists()  # work at once


def test_it_fills_last_night_and_last_month(fake_clock: FakeClock) -> None:
    seed(fake_clock)
    demo = Tenant.objects.get(slug="demo")
    morning = figures.morning_figures(demo, figures.last_night(fake_clock()))
    assert morning.totals.checks >= 25 and morning.totals.done and morning.escalations
    october = date(2026, 10, 1)  # the last whole month; its 25th is the autumn clock change
    assert NightTally.objects.filter(tenant=demo, night__gte=october, night__lt=october.replace(month=11)).exists()
    month = figures.monthly_figures(demo, october)
    total = month.total
    assert total.checks >= 31 * 25 and total.persons == 10 and total.persons_camera
    assert 0 < total.escalated < total.done
    assert total.on_time and total.retries and total.views and total.faults and total.visits_made
    assert len(month.nights) == 31 and month.causes and month.hours
    assert figures.benefit_basis(demo, october).visits_avoided > 500
    client = SecondFactorClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(get_user_model().objects.get(username=f"demo-{Role.ADMINISTRATOR}"))
    for page in ("monthly", "benefit"):
        assert client.get(f"/reports/{page}/?tenant={demo.id}&month=2026-10").status_code == 200


def test_it_starts_with_trouble_under_way_in_two_municipalities(fake_clock: FakeClock) -> None:
    seed(fake_clock)
    assert Escalation.objects.filter(state=EscalationState.OPEN, cause=EscalationCause.NEEDS_HELP).exists()
    assert Escalation.objects.filter(cause=EscalationCause.TECHNICAL_FAULT, night_check__camera_fault__gt="").exists()
    assert Alarm.objects.filter(acknowledged_at__isnull=True).count() >= 2
    assert Check.objects.filter(state=CheckState.DUE, not_visible_count=1).exists()  # a retry due
    for slug in ("demo", "grannby"):
        assert Check.objects.filter(tenant__slug=slug, state=CheckState.PLANNED, person__camera__isnull=False).exists()
    assert Camera.objects.values("stream_url").distinct().count() <= 12
    alarm_centre = get_user_model().objects.get(username="larmcentral")
    assert alarm_centre.check_password(DEMO_PASSWORD)
    client = SecondFactorClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alarm_centre)
    page = client.get("/console/").content.decode()
    assert "Astrid Andersson" in page and "Karin Kvist" in page


def test_it_changes_nothing_when_run_again(fake_clock: FakeClock) -> None:
    seed(fake_clock)
    before = counts()
    fake_clock.advance(hours=1)
    seed(fake_clock)
    assert counts() == before
