"""The web tier under a night's staff: 50 operators and 10 night patrols at once.

Builds a PostgreSQL database of its own (default ``bench_web``), one municipality of
``--persons`` persons (default 1,000) whose agreed times are spread around the real
time now, so there are checks due while it runs (the web processes use the real
clock), and runs, on loopback only:

- gunicorn as in the Procfile (``--workers 2 --threads 4``), real Argon2 passwords;
- one ``manage.py run_worker`` making checks due, as in production;
- a small asyncio/aiohttp load generator (no extra dependency), one cookie session per
  user. Each user logs in for real (password, then the TOTP code of their
  authenticator app), then works:
  * an operator polls the console as htmx does (``HX-Request``/``X-Poll``), opens one of
    the first due checks (POST, then the live-view page), looks, records an outcome
    (mostly seen OK) and goes back to the console;
  * a patrol polls its page, acknowledges open escalations and records results.
  Each starts at a random moment within their first poll interval (sixty people do not
  open their pages in the same millisecond). Everyone works at a person's pace by default
  (the console polled every 10 s as htmx does, the patrol page every 15 s, a look of
  30 s); ``--pace 5`` works five times faster.

Reports, for the working period after everyone has logged in: requests per second,
p50/p99 latency and errors (any status ≥ 400, a refused login, or a failed connection),
per kind of request and overall; logins separately (Argon2 is slow on purpose).
Ends with ``load.requests_per_s``, ``load.p50_ms``, ``load.p99_ms``, ``load.errors``.

    .venv/bin/python benchmarks/load_web.py            # 120 s of work
    .venv/bin/python benchmarks/load_web.py --quick    # 30 s
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import statistics
import subprocess
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from _common import (
    PYTHON,
    ROOT,
    bulk_world_sql,
    django_env,
    drop_database,
    headline,
    machine_load,
    make_bench_users,
    migrate,
    percentile,
    recreate_database,
    say,
    setup_django,
    totp_code,
)

PASSWORD = "bench-password-long"
OPEN_RE = re.compile(r'action="/console/checks/(\d+)/open"')
ACK_RE = re.compile(r'action="/console/patrol/(\d+)/acknowledge"')
RESOLVE_RE = re.compile(r'action="/console/patrol/(\d+)/resolve"')
ATTEMPT_RE = re.compile(r"/console/attempts/(\d+)/")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="30 s of work instead of 120")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of work after the logins")
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--patrols", type=int, default=10)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--pace", type=float, default=1.0, help="how much faster than a person each user works")
    parser.add_argument("--database", default="bench_web")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.seconds = args.seconds or (30.0 if args.quick else 120.0)
    return args


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[tuple[float, str, float]] = []  # (finished at, name, ms)
        self.error_examples: list[str] = []
        self.poll_rows: list[int] = []
        self.poll_bytes: list[int] = []

    def ok(self, name: str, started: float, ms: float) -> None:
        self.latencies[name].append(ms)
        self.samples.append((started, name, ms))

    def error(self, name: str, what: str) -> None:
        self.errors[name] += 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{name}: {what}")


class User:
    """One person at a browser: a cookie session against the web tier."""

    def __init__(self, session: Any, base: str, stats: Stats, username: str) -> None:
        self.session, self.base, self.stats, self.username = session, base, stats, username

    def csrf(self) -> str:
        for cookie in self.session.cookie_jar:
            if cookie.key == "csrftoken":
                return str(cookie.value)
        return ""

    async def request(self, name: str, method: str, path: str, **kwargs: Any) -> tuple[int, str, str]:
        headers = kwargs.pop("headers", {})
        if method == "POST":
            headers["X-CSRFToken"] = self.csrf()
        started = time.monotonic()
        try:
            async with self.session.request(
                method, self.base + path, headers=headers, allow_redirects=False, **kwargs
            ) as response:
                body = await response.text()
                ms = (time.monotonic() - started) * 1000
                if response.status >= 400:
                    self.stats.error(name, f"HTTP {response.status} {path}")
                else:
                    self.stats.ok(name, started, ms)
                return response.status, response.headers.get("Location", ""), body
        except Exception as exc:  # connection refused/reset, timeout
            self.stats.error(name, f"{type(exc).__name__} {path}")
            return 0, "", ""

    async def log_in(self) -> bool:
        await self.request("login", "GET", "/login/")
        status, location, _ = await self.request(
            "login",
            "POST",
            "/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()},
        )
        if status != 302:
            self.stats.error("login", f"password step answered {status}")
            return False
        status, location, _ = await self.request(
            "login",
            "POST",
            "/mfa/",
            data={"code": totp_code(TOTP_SECRET), "next": "/", "csrfmiddlewaretoken": self.csrf()},
        )
        if status != 302 or "/mfa/" in location or "/login/" in location:
            self.stats.error("login", f"second factor answered {status} → {location}")
            return False
        return True


TOTP_SECRET = ""  # the test users' authenticator secret, set in main()


async def operator(user: User, pace: float, until: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 10 / pace))  # staff open their pages over a poll interval, not at one instant
    await user.request("console page", "GET", "/console/")
    while time.monotonic() < until:
        _, _, rows = await user.request(
            "console poll", "GET", "/console/", headers={"HX-Request": "true", "X-Poll": "1"}
        )
        openable = OPEN_RE.findall(rows)
        user.stats.poll_rows.append(rows.count('data-testid="check-row"'))
        user.stats.poll_bytes.append(len(rows.encode()))
        if openable:
            check_id = rng.choice(openable[:5])
            status, location, _ = await user.request("open check", "POST", f"/console/checks/{check_id}/open")
            match = ATTEMPT_RE.search(location)
            if match:  # refused (a colleague took it): the console again, as the browser would
                await user.request("live-view page", "GET", location)
                await asyncio.sleep(30 / pace)
                draw = rng.random()
                outcome = "seen_ok" if draw < 0.9 else "not_visible" if draw < 0.97 else "needs_help"
                await user.request(
                    "record outcome",
                    "POST",
                    f"/console/attempts/{match.group(1)}/outcome",
                    data={"outcome": outcome, "csrfmiddlewaretoken": user.csrf()},
                )
            await user.request("console page", "GET", "/console/")
        await asyncio.sleep(rng.uniform(0.5, 1.5) * 10 / pace)


async def patrol(user: User, pace: float, until: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 15 / pace))
    await user.request("patrol page", "GET", "/console/patrol/")
    while time.monotonic() < until:
        _, _, cards = await user.request(
            "patrol poll", "GET", "/console/patrol/", headers={"HX-Request": "true", "X-Poll": "1"}
        )
        to_acknowledge, to_resolve = ACK_RE.findall(cards), RESOLVE_RE.findall(cards)
        if to_acknowledge:
            escalation = rng.choice(to_acknowledge[:3])
            await user.request("acknowledge", "POST", f"/console/patrol/{escalation}/acknowledge")
            await user.request("patrol page", "GET", "/console/patrol/")
        elif to_resolve:
            escalation = rng.choice(to_resolve[:3])
            await user.request(
                "resolve",
                "POST",
                f"/console/patrol/{escalation}/resolve",
                data={"result": "visited_ok", "note": "", "csrfmiddlewaretoken": user.csrf()},
            )
            await user.request("patrol page", "GET", "/console/patrol/")
        await asyncio.sleep(rng.uniform(0.5, 1.5) * 15 / pace)


async def run_load(args: argparse.Namespace, base: str, usernames: dict[str, list[str]]) -> tuple[Stats, float, float]:
    import aiohttp

    stats = Stats()
    rng = random.Random(11)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = []
    users: list[tuple[str, User]] = []
    for kind in ("operator", "patrol"):
        for username in usernames[kind]:
            session = aiohttp.ClientSession(
                connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=timeout
            )
            sessions.append(session)
            users.append((kind, User(session, base, stats, username)))

    # Everyone logs in over the first seconds of the shift, as people arrive.
    async def arrive(delay: float, user: User) -> bool:
        await asyncio.sleep(delay)
        return await user.log_in()

    login_started = time.monotonic()
    logged_in = await asyncio.gather(*(arrive(index * 0.1, user) for index, (_kind, user) in enumerate(users)))
    say(f"  {sum(logged_in)} of {len(users)} users logged in, in {time.monotonic() - login_started:.1f} s")
    work_started = time.monotonic()
    until = work_started + args.seconds
    tasks = [
        (operator if kind == "operator" else patrol)(user, args.pace, until, random.Random(rng.random()))
        for (kind, user), ok in zip(users, logged_in, strict=True)
        if ok
    ]
    await asyncio.gather(*tasks)
    work_ended = time.monotonic()
    for session in sessions:
        await session.close()
    await connector.close()
    return stats, work_started, work_ended


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_world(args: argparse.Namespace) -> dict[str, list[str]]:
    from django.db import connection

    from accounts.models import Role, Tenant
    from checks.engine import NightWorker
    from nattillsyn import clock
    from nattillsyn.testing import make_user

    tenant = Tenant.objects.create(name="Lastby kommun", slug="lastby")
    users = make_bench_users(tenant, "lastby", PASSWORD)
    usernames: dict[str, list[str]] = {"operator": [], "patrol": []}
    for kind, role, count in (("operator", Role.OPERATOR, args.operators), ("patrol", Role.PATROL, args.patrols)):
        for index in range(count):
            user = make_user(f"lastby-{kind}{index}", tenant, role)
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            usernames[kind].append(user.username)
    # Agreed times from half an hour ago onwards, a minute apart, so checks keep falling due.
    local = clock.now().astimezone(clock.STOCKHOLM) - timedelta(minutes=30)
    if 10 <= local.hour < 13:
        say("  note: the night turns at 12:00; times before it belong to the next morning")
    bases = tuple(f"{(local + timedelta(hours=2 * n)):%H:%M}" for n in range(3))
    with connection.cursor() as cursor:
        bulk_world_sql(
            cursor,
            tenant=tenant.id,
            persons=args.persons,
            users={role: users[role].id for role in ("case_officer", "planner", "installer", "operator")},
            now=clock.now() - timedelta(days=1),
            times=bases,
            slots=120,
            step_min=1,
        )
    report = NightWorker("bench-planner").tick(clock.now())
    say(f"  {args.persons:,} persons; tonight planned: {report.counts}")
    return usernames


def main() -> None:
    args = parse_args()
    recreate_database(args.database)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        say(f"database {args.database}: migrate ({migrate(args.database):.1f} s)")
        setup_django(args.database)
        usernames = make_world(args)
        from nattillsyn.testing import TEST_TOTP_SECRET

        global TOTP_SECRET
        TOTP_SECRET = TEST_TOTP_SECRET
        port = free_port()
        env = django_env(args.database, LOG_LEVEL="WARNING")
        log = open(ROOT / "var" / "bench_web.log", "wb")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "gunicorn"),
                    "nattillsyn.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    PYTHON,
                    "manage.py",
                    "run_worker",
                    "--prober",
                    "none",
                    "--privacy-driver",
                    "none",
                    "--name",
                    "bench-web",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for_port(port)
        say(f"gunicorn on 127.0.0.1:{port}; {args.operators} operators and {args.patrols} patrols, pace ×{args.pace:g}")
        stats, started, ended = asyncio.run(run_load(args, f"http://127.0.0.1:{port}", usernames))
        summarise(stats, started, ended)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.keep:
            drop_database(args.database)


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port}")


def summarise(stats: Stats, started: float, ended: float) -> None:
    working = [(at, name, ms) for at, name, ms in stats.samples if name != "login" and started <= at <= ended]
    for name in sorted(stats.latencies):
        values = stats.latencies[name]
        say(
            f"  {name:15} {len(values):6} ok  p50 {percentile(values, 0.5):6.0f} ms  "
            f"p99 {percentile(values, 0.99):6.0f} ms  max {max(values):6.0f} ms  errors {stats.errors.get(name, 0)}"
        )
    for example in stats.error_examples:
        say(f"  error: {example}")
    if stats.poll_rows:
        say(
            f"  console poll: {statistics.mean(stats.poll_rows):.0f} rows, "
            f"{statistics.mean(stats.poll_bytes) / 1024:.0f} KiB on average"
        )
    latencies = [ms for _at, _name, ms in working]
    errors = sum(stats.errors.values())
    logins = stats.latencies.get("login", [0.0])
    say(f"machine: {machine_load()}")
    headline("load.login_p50_ms", f"{percentile(logins, 0.5):.0f}")
    headline("load.login_p99_ms", f"{percentile(logins, 0.99):.0f}")
    headline("load.requests", len(working))
    headline("load.requests_per_s", f"{len(working) / (ended - started):.1f}")
    headline("load.p50_ms", f"{percentile(latencies, 0.5):.0f}")
    headline("load.p99_ms", f"{percentile(latencies, 0.99):.0f}")
    headline("load.errors", errors)


if __name__ == "__main__":
    main()
