# The front door. `make demo` and `make test` are the two commands a newcomer needs;
# everything they depend on is installed here, into ./.venv and ./tools/node_modules.

SHELL := /bin/bash
CARGO ?= cargo
VENV := .venv
PY := $(VENV)/bin/python
NODE_TOOLS := tools/node_modules
ASL := statemachine/erasure.asl.json
TEMPLATE := infra/template.yaml
TARGET_DIR ?= target

# Tests find the local servers they start through these.
export MOTO_SERVER := $(abspath $(VENV)/bin/moto_server)
export CARGO_LAMBDA := $(abspath $(VENV)/bin/cargo-lambda)
export ASL_VALIDATOR := $(abspath $(NODE_TOOLS)/.bin/asl-validator)

.PHONY: all build demo test lint fmt tools venv node-tools clean infra-test package deploy bench fuzz chromium console console-oidc console-screenshots

all: build

build:
	$(CARGO) build --workspace --all-targets

## demo: sample tickets through the workflow definition against the Genesys emulator (in
## process, virtual clock), records into ./demo-archive, then `audit verify` on it. No tools,
## no cloud account: cargo only.
demo:
	$(CARGO) run --quiet -p gdpr-erasure -- demo --archive demo-archive

## test: lint, then every test of the workspace (starts its own local servers).
test: tools chromium lint
	$(CARGO) test --workspace --no-fail-fast

## lint: formatting, clippy, and the field's own validators on the definition and template.
lint: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@# The fuzz targets are a cargo project of their own (not built by the workspace);
	@# type-check them so a change to erasure-core cannot leave `make fuzz` broken.
	$(CARGO) check --quiet --manifest-path fuzz/Cargo.toml --bins
	@# SAM fills ${...FunctionArn} at deploy time; the validator checks ARNs, so lint the
	@# definition with every substitution replaced by a well-formed Lambda ARN.
	@if [ -f $(ASL) ]; then \
	  sed -E 's/\$$\{([A-Za-z0-9]+)\}/arn:aws:lambda:eu-west-1:123456789012:function:\1/g' $(ASL) > target/asl-lint.json && \
	  $(ASL_VALIDATOR) --json-path target/asl-lint.json; fi
	@if [ -f $(TEMPLATE) ]; then $(VENV)/bin/cfn-lint $(TEMPLATE); fi
	@$(MAKE) --no-print-directory infra-test

## infra-test: the template's own checks (least privilege, WORM archive, wiring); no AWS account.
infra-test: venv
	$(PY) -m unittest discover -s infra/tests

## package: every Lambda function under functions/ (all fifteen) as an arm64 zip,
## target/lambda/<binary>/bootstrap.zip, in one cargo-lambda run (cargo-lambda and zig, its
## cross-linker, come pinned with `make tools`), then infra/scripts/check_packages.py: every
## zip holds an executable aarch64 `bootstrap` needing glibc 2.34 at most (provided.al2023).
## Not part of `make test`: a release cross-build of fifteen binaries takes many minutes
## (the check itself is tested there, infra/tests/test_packages.py).
package: venv
	@if command -v rustup >/dev/null; then rustup target add aarch64-unknown-linux-gnu >/dev/null; fi
	@bins="$$($(PY) infra/scripts/function_binaries.py --require-all)" || exit 1; \
	  echo "packaging: $$bins"; \
	  PATH="$(abspath $(VENV)/bin):$$PATH" $(CARGO) lambda build --release --arm64 --output-format zip \
	    $$(for b in $$bins; do printf -- '--bin %s ' "$$b"; done) || exit 1; \
	  $(PY) infra/scripts/check_packages.py --target-dir $(TARGET_DIR) --arch aarch64 $$bins

## deploy: sam build (cargo-lambda again, from the cache `package` filled) and sam deploy with
## infra/samconfig.toml. Needs the AWS SAM CLI and AWS credentials (docs/deploy.md).
deploy: venv
	@command -v sam >/dev/null || { echo "make deploy needs the AWS SAM CLI: see docs/deploy.md" >&2; exit 1; }
	@$(PY) infra/scripts/function_binaries.py --require-all >/dev/null
	@$(MAKE) --no-print-directory package
	cd infra && PATH="$(abspath $(VENV)/bin):$$PATH" sam build
	cd infra && sam deploy $(DEPLOY_ARGS)

## bench: writes docs/performance.md (docs/bench.md says how): cold start and peak RSS of
## the real step binaries (their secrets in moto) and of a Rust sample against the guide's
## Python step; binary sizes of every function (x86_64, and the arm64 zips when `make
## package` has been run); transitions, Genesys calls and cost per erasure; local runner
## throughput. Release builds; the functions are built on their own, as `make package`
## builds them, so the sizes are the deployed ones' (features unify per cargo run). Not
## part of `make test`. BENCH_COLD_STARTS and BENCH_WARM set the rounds.
BENCH_COLD_STARTS ?= 15
BENCH_WARM ?= 5
BENCH_STEPS := poll locate review erase purge-recordings verify-erasure
# Tickets at once in the throughput section (docs/bench.md, "Local runner throughput").
BENCH_THROUGHPUT_TICKETS ?= 200
bench: venv
	$(CARGO) build --release -p bench -p lambda-samples
	@fbins="$$($(PY) infra/scripts/function_binaries.py --require-all)" || exit 1; \
	  $(CARGO) build --release $$(for b in $$fbins; do printf -- '--bin %s ' "$$b"; done) || exit 1; \
	  steps=""; for b in $(BENCH_STEPS); do steps="$$steps --step $(TARGET_DIR)/release/$$b"; done; \
	  sizes=""; for b in $$fbins; do sizes="$$sizes --size $(TARGET_DIR)/release/$$b"; done; \
	  set -x; $(TARGET_DIR)/release/bench --out docs/performance.md \
	    --cold-starts $(BENCH_COLD_STARTS) --warm $(BENCH_WARM) \
	    --throughput-tickets $(BENCH_THROUGHPUT_TICKETS) \
	    --rust $(TARGET_DIR)/release/sample-poll $$steps \
	    --python bench/guide-step:poll.handler --python-interpreter $(PY) \
	    $$sizes --reference-size $(TARGET_DIR)/release/sample-poll \
	    --reference-size $(TARGET_DIR)/release/sample-behaviours \
	    --lambda-dir $(TARGET_DIR)/lambda

## fuzz: every fuzz target of fuzz/ for FUZZ_SECONDS seconds each (default 60), seeded
## from tests/fixtures/bad-tickets. Not part of `test`. cargo-fuzz is installed into
## .tools on first use; it runs on stable Rust without a sanitizer (the code under test
## is safe Rust: the fuzzers look for panics and broken properties, not memory errors).
## A failing input is kept in fuzz/artifacts/<target>/ and the target stops there.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := ticket_validate identifiers
CARGO_FUZZ := .tools/bin/cargo-fuzz
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_MAX_LEN_ticket_validate := 8192
FUZZ_MAX_LEN_identifiers := 256

fuzz: $(CARGO_FUZZ)
	python3 fuzz/seed_corpus.py
	@for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-$$t || exit 1; done

fuzz-%: $(CARGO_FUZZ)
	@echo "fuzz: $* for $(FUZZ_SECONDS) s"
	PATH="$(abspath .tools/bin):$$PATH" $(CARGO) fuzz run --sanitizer none --debug-assertions $* -- \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN_$*) -print_final_stats=1

$(CARGO_FUZZ):
	$(CARGO) install --locked --root .tools cargo-fuzz --version $(CARGO_FUZZ_VERSION)

fmt:
	$(CARGO) fmt --all

## chromium: Debian's chromium and chromium-driver, for the console's browser test
## (crates/cli/tests/console_browser.rs); installed with apt-get when missing.
chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; fi

## console: the DPO's console (docs/console.md) on http://127.0.0.1:8088 over the demo's
## tickets, some waiting for review. Sign-in: the issuer in CONSOLE_OIDC_ISSUER (client
## CONSOLE_OIDC_CLIENT_ID), else the local sign-in; `make console-oidc` in another
## terminal starts a local OpenID Connect provider to point it at.
console:
	$(CARGO) run --quiet -p gdpr-erasure -- console --archive console-archive

## console-oidc: a local OpenID Connect provider (npm oidc-provider) on :8089 with the
## console's client; people maeve and siobhan (DPO), aidan (Auditor), visitor (none).
## Then: CONSOLE_OIDC_ISSUER=http://127.0.0.1:8089 make console
console-oidc: node-tools
	node tools/console-e2e/provider.mjs 8089 http://127.0.0.1:8088/auth/callback

## console-screenshots: the browser test, keeping its screenshots in docs/img/.
console-screenshots: tools chromium
	CONSOLE_SCREENSHOTS=$(abspath docs/img) $(CARGO) test -p gdpr-erasure --test console_browser

tools: venv node-tools

venv: $(VENV)/.installed
$(VENV)/.installed: tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

node-tools: $(NODE_TOOLS)/.installed
$(NODE_TOOLS)/.installed: tools/package.json tools/package-lock.json
	cd tools && npm ci --silent --no-audit --no-fund
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(NODE_TOOLS)
