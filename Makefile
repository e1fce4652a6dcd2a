# Every target installs what it needs: a fresh clone only needs python3 (uv is bootstrapped if absent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_NO_PROGRESS := 1

UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
STAGE ?= dev
CDK := npx --yes --prefix .tools/cdk cdk

.PHONY: help install run test lint format unit synth deploy bench openapi clean test-browser browser screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Quiet, and on stderr: `TOKEN=$$(make -s token CLIENT=alice)` must capture the token only, even on a
# machine where uv is bootstrapped by that very command.
.tools/bin/uv:
	@echo "bootstrapping uv into .tools/ (it is not on the PATH)" >&2
	@python3 -m venv .tools >&2
	@.tools/bin/python -m pip install --quiet uv >&2

install: $(UV) ## create .venv with every dependency group (locked)
	$(UV) sync --locked --all-groups

run: $(UV) ## start the whole product on loopback (API :3000, sandbox :3001, moto :3002, portal :3003/portal/); VERBOSE=1
	$(UV) sync --locked --inexact --group local
	@$(UV) run --no-sync managed-accounts run $(if $(VERBOSE),--verbose)

# The commands to use with a running stack (`make run` prints them). They install what they need
# quietly and print only their result.
.PHONY: local-env token approvals approve deny fund demo
local-env: $(UV)
	@$(UV) sync --locked --inexact --group local --quiet >&2

token: local-env ## a dev JWT for the running stack: TOKEN=$(make -s token CLIENT=alice) [OPERATOR=1]
	@$(if $(CLIENT),,$(error usage: TOKEN=$$(make -s token CLIENT=<clientId>) [OPERATOR=1]))
	@$(UV) run --no-sync managed-accounts token "$$CLIENT" $(if $(OPERATOR),--operator)

approvals: local-env ## the approvals waiting for the compliance officer in the Dfns sandbox
	@$(UV) run --no-sync managed-accounts sandbox approvals

approve: local-env ## the officer approves the pending approval (APPROVAL=<id> when several wait)
	@$(UV) run --no-sync managed-accounts sandbox approve $(APPROVAL)

deny: local-env ## the officer denies it: make deny [APPROVAL=<id>] [REASON=text]
	@$(UV) run --no-sync managed-accounts sandbox deny $(APPROVAL) $(if $(REASON),--reason "$$REASON")

fund: local-env ## a sandbox deposit into a client's wallet: make fund CLIENT=alice [ETH=1]
	@$(if $(CLIENT),,$(error usage: make fund CLIENT=<clientId> [ETH=1]))
	@$(UV) run --no-sync managed-accounts sandbox fund "$$CLIENT" $(if $(ETH),--eth "$$ETH")

demo: local-env ## the whole story against the running stack, narrated
	@$(UV) run --no-sync managed-accounts demo

lint: install ## ruff (lint + format check) and mypy
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy layers/common functions local infra tests benchmarks
	$(UV) run --no-sync xenon --max-absolute B layers functions infra

format: install ## apply ruff's fixes and formatting
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

test: lint ## lint, then the whole test suite with coverage
	$(UV) run --no-sync pytest -n 2 --cov --cov-report=term --cov-report=xml:build/coverage.xml

# The portal (portal/) clicked through in headless Chromium. Debian's chromium and chromium-driver are
# version-matched; nothing is downloaded at test time. Kept out of `make test` (tests/browser is not
# collected by default).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver with apt (a few minutes the first time)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }; \
	else \
		echo "make test-browser needs Chromium and its driver; as root run:" >&2; \
		echo "  apt-get install -y chromium chromium-driver" >&2; \
		exit 2; \
	fi

test-browser: install browser ## the portal's story in headless Chromium; screenshots in build/browser/
	$(UV) run --no-sync pytest tests/browser

screenshots: test-browser ## refresh the README's screenshots (docs/screenshots/) from the browser test
	mkdir -p docs/screenshots
	rm -f docs/screenshots/*.png
	cp build/browser/[0-9]*.png docs/screenshots/
	rm -f docs/screenshots/*-timeout-*.png

unit: install ## unit tests only (fast)
	$(UV) run --no-sync pytest tests/unit

# The layer build (infra/bundling.py) runs the same uv: UV names it (uv run sets it too).
synth: install ## synthesise the CDK app into cdk.out/ (cdk-nag attached; builds the Lambda layer if stale)
	CDK_OUTDIR=cdk.out UV="$(abspath $(UV))" $(UV) run --no-sync python infra/app.py

deploy: install ## cdk deploy STAGE=<name> [THROWAWAY=true] with the pinned CDK CLI 2.x
	npm install --silent --prefix .tools/cdk aws-cdk@2.1148
	UV="$(abspath $(UV))" $(CDK) deploy --app "$(abspath $(UV)) run --no-sync python infra/app.py" \
		-c stage=$(STAGE) $(if $(THROWAWAY),-c throwaway=$(THROWAWAY)) --require-approval broadening

openapi: install ## write the merged OpenAPI document to docs/openapi.json (a test fails when it is stale)
	$(UV) run --no-sync python -m local_stack.openapi_doc

bench: install ## benchmarks into docs/BENCHMARKS.md; ONLY=coldstart,roundtrips,reports,sandbox,localstack,load,orders
	ONLY="$(ONLY)" $(UV) run --no-sync python -m benchmarks

clean: ## remove build outputs and local state
	rm -rf build cdk.out .local .pytest_cache .mypy_cache .ruff_cache .coverage
