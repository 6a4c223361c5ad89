# OpenKasse – the two commands: `make run` (demo portal) and `make test` (whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000
IDP_PORT ?= 8421
SAML_IDP_PORT ?= 8422
MUK_IDP_PORT ?= 8423

.PHONY: run test lint bench system-deps venv kern screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Serve the portal with demo data on an embedded SQLite database (instance/openkasse.sqlite3).
run: venv
	bash tools/install-system-deps.sh runtime || echo "PDF notices need the packages named above."
	$(BIN)/openkasse db upgrade
	$(BIN)/openkasse demo --if-empty --bundid http://127.0.0.1:$(IDP_PORT) \
	  --bundid-saml http://127.0.0.1:$(SAML_IDP_PORT) --muk http://127.0.0.1:$(MUK_IDP_PORT)
	@echo "Portal: http://$(HOST):$(PORT)/  ·  Sachbearbeitung: http://$(HOST):$(PORT)/backoffice/"
	@# localstripe plays Stripe for the demo's card payments, tools/demo_idp.py plays BundID's
	@# OIDC bridge for "Mit BundID anmelden", tools/demo_saml_idp.py BundID itself (SAML) for
	@# "Mit BundID (SAML) anmelden", a second tools/demo_idp.py "Mein Unternehmenskonto" for
	@# "Mit Unternehmenskonto anmelden" (all on loopback, all stop with the portal)
	$(BIN)/localstripe --port 8420 --from-scratch >instance/localstripe.log 2>&1 & LS=$$!; \
	  $(BIN)/python tools/demo_idp.py $(IDP_PORT) >instance/demo_idp.log 2>&1 & IDP=$$!; \
	  $(BIN)/python tools/demo_saml_idp.py $(SAML_IDP_PORT) >instance/demo_saml_idp.log 2>&1 & SAML=$$!; \
	  $(BIN)/python tools/demo_idp.py $(MUK_IDP_PORT) muk >instance/demo_muk_idp.log 2>&1 & MUK=$$!; \
	  trap "kill $$LS $$IDP $$SAML $$MUK" EXIT INT TERM; \
	  $(BIN)/python tools/localstripe_webhook.py http://$(HOST):$(PORT)/zahlungsdienst/stripe; \
	  $(BIN)/openkasse run --host $(HOST) --port $(PORT)

## Install what the tests need (Debian's chromium and postgresql when root) and run every test.
test: venv system-deps
	$(BIN)/pytest

system-deps:
	bash tools/install-system-deps.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core portal backoffice  # strict for core/, normal for the web layers (pyproject)
	$(BIN)/lint-imports  # .importlinter: core's layers, no web framework in core, no cycles

bench: venv
	$(BIN)/python -m tests.benchmarks.run --postgres

## Refresh the vendored KERN CSS and fonts from npm (@kern-ux/native).
kern:
	bash tools/update-kern.sh

screenshot: venv system-deps
	$(BIN)/python tools/screenshot.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache *.egg-info
