# Guardpost: `make run` to try it, `make test` to check it. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
HTTPS  ?=
export FLASK_APP := app

.PHONY: run test setup install vendor translations db browser pdf-libs lint format clean

# The jobs runner (late alarms, overdue repairs, reminders, mail) runs beside the web server
# and stops with it: Ctrl-C, or the server exiting, sends it SIGTERM.
JOBS_BESIDE := $(BIN)/flask jobs run & jobs=$$!; \
	trap 'kill $$jobs 2>/dev/null; wait $$jobs 2>/dev/null' EXIT INT TERM;

# QR codes, labels and mailed links are made from BASE_URL (never from a request's Host):
# the local run sets one that works, the phone's address of this computer with HTTPS=1.
# Give your own with `make run BASE_URL=https://...`.
LAN_ADDRESS = $(shell $(PYTHON) -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9)); print(s.getsockname()[0])' 2>/dev/null || echo 127.0.0.1)
ifeq ($(HTTPS),1)
BASE_URL ?= https://$(LAN_ADDRESS):$(PORT)
else
BASE_URL ?= http://localhost:$(PORT)
endif

run: setup pdf-libs db
ifeq ($(HTTPS),1)
	$(BIN)/python scripts/dev_cert.py instance
	@echo "Open $(BASE_URL) (BASE_URL, put into QR codes and labels)"
	export BASE_URL='$(BASE_URL)'; $(JOBS_BESIDE) SECURE_COOKIES=1 $(BIN)/flask run \
		--host 0.0.0.0 --port $(PORT) --cert instance/dev-cert.pem --key instance/dev-key.pem
else
	@echo "Open $(BASE_URL) (passkeys need this name, not the bare address)"
	export BASE_URL='$(BASE_URL)'; $(JOBS_BESIDE) $(BIN)/flask run --host $(HOST) --port $(PORT)
endif

# Two pytest workers per CPU (WORKERS=0: one process), each with its own database: the browser
# tests spend most of their time waiting on Chromium and the network, and a second worker per
# CPU fills that time (the whole pass took 7.9 min with one per CPU on 2 CPUs). Idle workers
# take queued tests from busy ones (the browser tests are long).
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(WORKERS) --dist worksteal

setup: install vendor translations

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,redis]'
	touch $@

vendor: install
	$(BIN)/python scripts/fetch_vendor.py

translations: install
	$(BIN)/pybabel compile --statistics -d app/translations

# Migrate the embedded SQLite database; load demo data only into an empty one.
db: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --if-empty

# Browser tests drive the system Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "Installing Chromium for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }
	@fc-list 2>/dev/null | grep -qi "cjk\|noto sans tc" || { \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; } || true; }
	@$(MAKE) --no-print-directory pdf-libs

# The control-record sheet's PDF (WeasyPrint) needs Pango and the CJK fonts from the system.
pdf-libs:
	@ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0" || { \
		echo "Installing Pango for the sheets' PDF (apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk; } || true; }

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project Guardpost -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) static/vendor .pytest_cache .ruff_cache
