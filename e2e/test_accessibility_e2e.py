"""Every page of every role, and the error states of the forms, checked with axe-core
(WCAG 2.1 AA: EN 301 549 binds public-sector web), plus the night patrol on a phone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest

from accounts.models import Role
from checks.actions.escalations import escalate
from checks.actions.worker_steps import record_camera_probe
from checks.engine import NightWorker
from checks.models import Check, CheckState, Escalation, EscalationCause, EscalationState
from nattillsyn import clock
from nattillsyn.testing import (
    PASSWORD,
    TEST_PERSONNUMMER,
    TEST_TOTP_SECRET,
    camera_of,
    make_municipality,
    make_person,
    make_training_camera,
)
from people.actions import register_absence
from people.models import AbsenceKind

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Serious and critical are the impacts axe gives to failures that stop a user (no
# name for a control, text too faint to read); those must be none.
BLOCKING = ("serious", "critical")
# Links the crawl does not follow: they end the session, leave the site or download.
NOT_FOLLOWED = re.compile(r"/logout/|/sso/|/admin/|/i18n/|/internal/|\.csv$|\.pdf$|/installation-view|#")


def due_in(minutes: int) -> time:
    local = (clock.now() + timedelta(minutes=minutes)).astimezone(clock.STOCKHOLM)
    return local.time().replace(second=0, microsecond=0)


@pytest.fixture
def night(system: dict[str, Any]) -> dict[str, Any]:
    """A night with work for every role: due checks, each kind of escalation, a camera
    fault, an absence and a planned visit."""
    home = make_municipality("Nattby kommun", "nattby")
    rtsp = system["rtsp"]
    astrid = make_person(
        home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[due_in(-1)], camera_url=f"{rtsp}/cam1"
    )
    bertil = make_person(home, "Bertil Berg", personnummer=TEST_PERSONNUMMER[1], times=[due_in(-2)], tested=False)
    cecilia = make_person(
        home, "Cecilia Carlsson", personnummer=TEST_PERSONNUMMER[2], times=[due_in(-3), due_in(-2), due_in(-1)]
    )
    david = make_person(home, "David Dahl", personnummer=TEST_PERSONNUMMER[3], times=[due_in(30)])
    elsa = make_person(home, "Elsa Ek", personnummer=TEST_PERSONNUMMER[4], times=[due_in(40)])
    register_absence(
        elsa,
        actor=home.user(Role.PLANNER),
        kind=AbsenceKind.HOSPITAL,
        starts_at=clock.now() - timedelta(hours=1),
        ends_at=clock.now() + timedelta(days=2),
        note="",
    )
    make_training_camera(home)
    NightWorker("e2e-a11y").tick(clock.now())
    checks = list(Check.objects.filter(person=cecilia, state=CheckState.DUE).order_by("scheduled_at"))
    for check, cause in zip(checks, (EscalationCause.NOT_VISIBLE, EscalationCause.NEEDS_HELP), strict=False):
        escalate(check, cause=cause, actor=home.user(Role.OPERATOR))
    camera = camera_of(david)
    for _probe in range(2):
        record_camera_probe(camera, ok=False, problem="stream_offline", now=clock.now(), horizon=timedelta(hours=2))
    return {"home": home, "astrid": astrid, "bertil": bertil, "cecilia": cecilia, "david": david, "elsa": elsa}


@pytest.fixture
def axe_page(browser: Any, system: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """A page in a fresh context; logs the user in (password, then the code). A user's
    code works once per 30 s, so a second call for the same user gives the same page."""
    contexts = []
    pages: dict[tuple[str, tuple[int, int]], Any] = {}

    def open_page(username: str | None = None, *, viewport: tuple[int, int] = (1100, 900)) -> Any:
        if username and (username, viewport) in pages:
            return pages[(username, viewport)]
        # bypass_csp: the site's script policy (rightly) forbids the injected axe script.
        context = browser.new_context(
            locale="sv-SE", viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if username:
            page.goto(system["url"] + "/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("[data-testid=login-submit]")
            page.wait_for_url("**/mfa/**")
            page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).at(clock.now()))
            page.click("[data-testid=verify-code]")
            page.wait_for_load_state()
            assert "/mfa/" not in page.url
            pages[(username, viewport)] = page
        return page

    yield open_page
    for context in contexts:
        context.close()


def scan(page: Any) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }"""
    )
    return [violation for violation in results if violation["impact"] in BLOCKING]


def pattern_of(url: str) -> str:
    return re.sub(r"/\d+/", "/N/", urlsplit(url).path)


class Scanner:
    """Scans pages and keeps what it found, per page pattern and role."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pages = 0
        self.found: list[tuple[str, str, str, str, str]] = []

    def check(self, page: Any, label: str) -> None:
        self.pages += 1
        pattern = pattern_of(page.url)
        for violation in scan(page):
            for node in violation["nodes"]:
                self.found.append((label, pattern, violation["id"], node["target"], node["summary"]))

    def crawl(self, page: Any, role: str, limit: int = 40) -> None:
        """Every page reachable by links from the start page, one of each URL pattern."""
        seen: set[str] = set()
        queue = [page.url]
        while queue and len(seen) < limit:
            url = queue.pop(0)
            if pattern_of(url) in seen:
                continue
            seen.add(pattern_of(url))
            if page.url != url:
                page.goto(url)
            page.wait_for_load_state()
            assert urlsplit(page.url).path not in ("/login/", "/mfa/"), f"{role} was logged out at {url}"
            self.check(page, role)
            for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
                target = urljoin(page.url, href)
                if target.startswith(self.base) and not NOT_FOLLOWED.search(target) and pattern_of(target) not in seen:
                    queue.append(target)


def submit_empty(page: Any, url: str, submit: str = "main form[method=post] [type=submit]") -> None:
    """Submit the form at url with its fields emptied, to see its error state."""
    page.goto(url)
    page.evaluate(
        """() => document.querySelectorAll('main form[method=post] input:not([type=hidden]):not([type=checkbox]),'
            + 'main form[method=post] textarea').forEach(field => { field.required = false; field.value = ''; })"""
    )
    page.evaluate("() => document.querySelectorAll('[required]').forEach(f => f.required = false)")
    page.locator(submit).first.click()
    page.wait_for_load_state()
    assert page.locator(".error").count() > 0, f"{url}: no error shown"


def test_every_page_of_every_role_has_no_serious_accessibility_violation(
    system: dict[str, Any], night: dict[str, Any], axe_page: Any, headline: Callable[[str, object], None]
) -> None:
    scanner = Scanner(system["url"])
    base = system["url"]

    # Before login: the login page, its error state, the second-factor step and its error.
    page = axe_page()
    page.goto(base + "/login/")
    scanner.check(page, "anonymous")
    page.fill("input[name=username]", "nattby-operator")
    page.fill("input[name=password]", "wrong")
    page.click("[data-testid=login-submit]")
    page.wait_for_load_state()
    scanner.check(page, "anonymous")
    page.fill("input[name=username]", "nattby-auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")
    scanner.check(page, "second factor")
    page.fill("input[name=code]", "000000")
    page.click("[data-testid=verify-code]")
    page.wait_for_load_state()
    scanner.check(page, "second factor")
    page.goto(base + "/no-such-page/")
    scanner.check(page, "anonymous")

    for role in Role.values:
        page = axe_page(f"nattby-{role}")
        scanner.crawl(page, role)
        page.goto(base + "/no-such-page/")
        scanner.check(page, role)

    # The operator's check page, opened from the console.
    page = axe_page("nattby-operator")
    page.goto(base + "/console/")
    page.locator("[data-testid=check-row]", has_text="Astrid Andersson").locator("[data-testid=open-check]").click()
    page.wait_for_url("**/console/attempts/*/")
    page.wait_for_selector("#live[data-state=live]")  # the view starts by itself
    scanner.check(page, "operator (live view)")
    page.wait_for_selector("[data-testid=outcome-seen_ok]:not([disabled])")
    scanner.check(page, "operator (outcome ready)")
    page.goto(base + "/console/training/")
    page.click("[data-testid=open-training]")
    page.wait_for_url("**/console/views/*/")
    scanner.check(page, "operator (training view)")
    page.goto(base + "/audit/")
    scanner.check(page, "operator (403)")

    # Forms submitted empty: their error states.
    astrid = night["astrid"].id
    for role, url in [
        ("planner", f"/people/{astrid}/edit/"),
        ("planner", "/people/new/"),
        ("planner", f"/people/{astrid}/agreement/"),
        ("planner", f"/people/{astrid}/consent/"),
        ("planner", f"/people/{astrid}/absence/"),
        ("case_officer", f"/people/{astrid}/decision/"),
        ("installer", "/cameras/new/"),
        ("administrator", "/reports/benefit/parameters/"),
    ]:
        page = axe_page(f"nattby-{role}")
        submit_empty(page, base + url)
        scanner.check(page, f"{role} (form errors)")

    page = axe_page("nattby-auditor")
    page.goto(base + "/audit/?date_from=2026-11-24&date_to=2026-11-01")
    scanner.check(page, "auditor (form errors)")

    report = "\n".join(" | ".join(item) for item in scanner.found)
    print(report)
    headline("a11y.pages_scanned", scanner.pages)
    headline("a11y.serious_or_critical", len(scanner.found))
    assert not scanner.found, report


def test_the_keyboard_reaches_a_visible_skip_link_first(
    system: dict[str, Any], night: dict[str, Any], axe_page: Any
) -> None:
    page = axe_page("nattby-planner")
    page.goto(system["url"] + "/people/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => { const el = document.activeElement, box = el.getBoundingClientRect(),
            style = getComputedStyle(el);
            return {href: el.getAttribute('href'), top: box.top, height: box.height, outline: style.outlineStyle}; }"""
    )
    assert focused["href"] == "#content"
    assert focused["top"] >= 0 and focused["height"] > 0  # shown, not left off-screen
    assert focused["outline"] != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"


PHONE = (390, 844)
TAP_TARGETS = "a[href], button, select, input:not([type=hidden]), summary"


def test_the_night_patrol_on_a_phone(system: dict[str, Any], night: dict[str, Any], axe_page: Any) -> None:
    page = axe_page("nattby-patrol", viewport=PHONE)
    page.goto(system["url"] + "/console/patrol/")
    cards = page.locator("[data-testid=escalation]")

    # 1. Emergencies before agreed visits, newest first in each group, told in words.
    kinds = [cards.nth(i).get_attribute("data-kind") for i in range(cards.count())]
    assert kinds == sorted(kinds, key=lambda kind: kind != "emergency"), kinds
    assert "planned" in kinds and kinds.count("emergency") >= 3
    labels = [cards.nth(i).locator("[data-testid=escalation-kind]").inner_text() for i in range(cards.count())]
    assert {labels[kinds.index("emergency")], labels[kinds.index("planned")]} == {"AKUT", "PLANERAT BESÖK"}
    shown = [int((cards.nth(i).get_attribute("id") or "").split("-")[1]) for i in range(cards.count())]
    emergencies = Escalation.objects.filter(id__in=shown).exclude(cause=EscalationCause.PLANNED_VISIT)
    newest_first = [e.id for e in emergencies.order_by("-created_at", "-id")]
    assert shown[: len(newest_first)] == newest_first

    # 2. Three cards on one screen.
    third = cards.nth(2).bounding_box()
    assert third is not None and third["y"] + third["height"] <= PHONE[1], third

    # 3. Every tap target at least 44 px high and wide.
    small = page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(el => el.getClientRects().length && el.getBoundingClientRect().top >= 0)
            .map(el => { const box = el.getBoundingClientRect();
                return {what: el.outerHTML.slice(0, 80), width: box.width, height: box.height}; })
            .filter(box => box.width < 44 || box.height < 44)""",
        TAP_TARGETS,
    )
    assert not small, small

    # 4. The address opens the phone's map, the numbers its phone.
    first = cards.first
    assert (first.locator("[data-testid=escalation-address]").get_attribute("href") or "").startswith("geo:0,0?q=")
    assert (first.locator("[data-testid=call-person]").get_attribute("href") or "").startswith("tel:")

    # 5. Acknowledge first (no result can be recorded before), then the result, each confirmed.
    name = first.get_attribute("data-person")
    assert first.locator("[data-testid=result]").count() == 0
    first.locator("[data-testid=acknowledge]").click()
    page.wait_for_load_state()
    assert name in page.inner_text("[data-testid=message]")
    card = page.locator("[data-testid=escalation]", has_text=name).first
    escalation_id = int((card.get_attribute("id") or "").split("-")[1])
    assert Escalation.objects.get(id=escalation_id).state == EscalationState.ACKNOWLEDGED
    card.locator("[data-testid=result]").select_option("visited_ok")
    # The list refreshes every 15 s: the result being chosen survives the refresh.
    page.evaluate(
        """() => htmx.ajax('GET', '/console/patrol/', {target: '#patrol-rows', swap: 'innerHTML',
                                                      headers: {'X-Poll': '1'}})"""
    )
    page.wait_for_timeout(500)
    assert card.locator("[data-testid=result]").input_value() == "visited_ok"
    card.locator("[data-testid=resolve]").click()
    page.wait_for_load_state()
    message = page.inner_text("[data-testid=message]")
    assert name in message and "Besökt: OK" in message, message
    assert Escalation.objects.get(id=escalation_id).state == EscalationState.RESOLVED
    assert page.locator(f"#escalation-{escalation_id}").count() == 0
