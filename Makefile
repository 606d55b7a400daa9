# Every target here is what CI runs too. See README.md.
.DEFAULT_GOAL := help
SAM      := .venv/bin/sam
SAMCFG   := --config-file infra/samconfig.toml
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: help venv dev replay test lint fmt clippy template-check checkov build deploy invoke bench clean

help: ## list the targets (the default)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "%-16s %s\n", $$1, $$2}'

venv: ## install the Python tools (cargo-lambda, zig, SAM CLI, cfn-lint, moto) into .venv
	bash infra/venv.sh

dev: venv ## run the stack locally: two rooms on the Zoom simulator, moto, the page, notices (no accounts needed; first run builds for ~4 min)
	.venv/bin/python infra/devstack.py up

replay: ## send realistic signed Zoom webhooks to `make dev` (duplicates, out of order, two devices) and show the count move
	.venv/bin/python infra/devstack.py replay

test: venv ## everything: unit, integration (moto, Zoom simulator), kitchenctl, end-to-end and browser (chromium) tests
	bash infra/test.sh

lint: fmt clippy template-check checkov ## everything CI checks besides tests

fmt: ## check the Rust formatting (cargo fmt --check)
	cargo fmt --all -- --check

clippy: ## Rust lints, warnings are errors
	cargo clippy --workspace --all-targets -- -D warnings

template-check: venv ## cfn-lint and sam validate --lint on template.yaml
	.venv/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(SAM) validate --lint --template template.yaml

checkov: ## checkov security scan of template.yaml (its own venv, .venv-checkov)
	bash infra/checkov.sh

build: venv ## build every function for arm64 as Lambda runs it (sam build → cargo lambda build)
	rustup target add aarch64-unknown-linux-gnu
	$(SAM) build $(SAMCFG)

deploy: build ## deploy the stack (guided the first time; answers are saved in infra/samconfig.toml)
	@if grep -q '^region' infra/samconfig.toml; then \
	  $(SAM) deploy $(SAMCFG); \
	else \
	  $(SAM) deploy --guided $(SAMCFG); \
	fi

FN    ?= invite
EVENT ?= infra/events/join-meeting-form.json
invoke: ## send a sample event to a function served by `make dev`: make invoke FN=count EVENT=infra/events/participant-count.json
	cargo lambda invoke $(FN) -A 127.0.0.1 -P 9000 --data-file $(EVENT)

bench: venv ## cold start, warm latency, memory, sizes and upstream calls per function, plus micro-benchmarks -> bench-results.md
	bash infra/bench.sh

clean: ## remove target/, .aws-sam and the local stack's logs (.dev)
	cargo clean
	rm -rf .aws-sam .dev
