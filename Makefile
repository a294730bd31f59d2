# One entry point per chore. `make run` and `make test` work on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres check bench deps demo-db messages deploy-test container-test

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

IDP_STAMP := sso/testidp/node_modules/.installed

# The identity provider the single sign-on tests log in with (panva/oidc-provider, from npm).
$(IDP_STAMP): sso/testidp/package-lock.json
	npm ci --prefix sso/testidp --no-audit --no-fund --loglevel=error
	touch $(IDP_STAMP)

PLAYER_STAMP := e2e/whep_player/node_modules/.installed

# An independent WHEP player (Eyevinn's @eyevinn/webrtc-player, bundled with esbuild)
# the gateway's standards test plays with (e2e/test_whep_third_party.py).
$(PLAYER_STAMP): e2e/whep_player/package-lock.json
	npm ci --prefix e2e/whep_player --no-audit --no-fund --loglevel=error
	touch $(PLAYER_STAMP)

AXE_STAMP := e2e/axe/node_modules/.installed

# axe-core, the accessibility rules the browser tests check every page against (from npm).
$(AXE_STAMP): e2e/axe/package-lock.json
	npm ci --prefix e2e/axe --no-audit --no-fund --loglevel=error
	touch $(AXE_STAMP)

deps: $(STAMP) $(IDP_STAMP) $(PLAYER_STAMP) $(AXE_STAMP)
	scripts/install-system-packages
	$(PY) manage.py compilemessages -v 0 --ignore=.venv

# The whole system on SQLite: web, worker, camera gateway, simulated cameras, TURN, demo data.
# Browsers get the demo TURN (coturn on 127.0.0.1:3478, docs/NETWORKS.md) with each grant.
run: export NATTILLSYN_TURN_URLS ?= turn:127.0.0.1:3478?transport=udp turn:127.0.0.1:3478?transport=tcp
run: deps
	$(PY) manage.py migrate -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho -f Procfile start

# All tests, on SQLite and then on PostgreSQL (127.0.0.1:5432 unless PGHOST says otherwise).
# The browser tests run in their own pytest process: Playwright keeps an event loop in
# the main thread that the gateway's asyncio tests must not share. The gateway and the
# simulated cameras use no database, so they run once.
test: deps test-sqlite test-postgres container-test

test-sqlite:
	DB=sqlite $(PY) -m pytest --ignore=e2e
	DB=sqlite $(PY) -m pytest e2e

test-postgres:
	DB=postgres $(PY) -m pytest --create-db --ignore=e2e --ignore=gateway --ignore=simcam
	DB=postgres $(PY) -m pytest --create-db e2e

# The production deployment (deploy/: systemd units, nginx, production settings, PostgreSQL)
# run on this machine with a smoke night in Chromium; also part of the PostgreSQL browser run.
deploy-test: deps
	DB=postgres $(PY) -m pytest e2e/test_deploy_smoke.py

# The container definitions (deploy/Containerfile, deploy/compose.yaml): the image built and
# its processes run against this machine's PostgreSQL (as root; ~2.5 min on a new machine).
container-test: deps
	apt-get install -y -q podman runc debootstrap >/dev/null
	deploy/container-test.sh

check: deps
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

bench: deps
	$(PY) benchmarks/report_monthly.py --persons 500
	$(PY) benchmarks/scale_plan.py --quick
	$(PY) benchmarks/chaos_night.py --quick
	$(PY) benchmarks/privacy_chaos.py --quick
	$(PY) benchmarks/load_web.py --quick
	$(PY) benchmarks/live_view.py --quick
	$(PY) benchmarks/operator_flow.py --quick
	$(PY) benchmarks/failover.py --quick
	$(PY) benchmarks/backup_restore.py --quick
	$(PY) benchmarks/onvif_moves.py --quick
	$(PY) benchmarks/letters.py --quick
	$(PY) benchmarks/networks.py --quick
	$(PY) benchmarks/blur.py --quick
	$(PY) benchmarks/domain_model.py --quick

messages:
	$(PY) manage.py makemessages -l sv -l en --ignore=.venv --ignore=simcam --ignore=gateway --ignore=benchmarks
