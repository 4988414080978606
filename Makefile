# Switchyard. `make drill` shows a whole failover locally; `make test` is what CI runs.
SHELL := /bin/bash
# Go 1.27.3 carries the standard-library fixes govulncheck asks for; a machine starts on its own Go,
# which fetches this one through the module proxy.
export GOTOOLCHAIN := go1.27.3
GO ?= go
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
HOST_ARCH := $(shell $(GO) env GOARCH)
BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
export CGO_ENABLED := 0
export SWITCHYARD_NODE := $(CURDIR)/node_modules/.bin/node

.PHONY: all build build-deploy build-local edge-bundle test lint lint-template bench drill run localcloud invoke node clean

all: build

## build: every function as linux/arm64 .build/<function>/bootstrap (deployment, through the same
## build-<LogicalId> targets `sam build` runs), as the host architecture .build/local/<function>/bootstrap
## (local host), and the Lambda@Edge zip.
build: build-deploy build-local edge-bundle

# template.yaml's Go functions: <LogicalId>:<folder under functions/>. `sam build` (BuildMethod: makefile,
# ContextPath and WorkingDirectory ".") runs `make --makefile <this Makefile> build-<LogicalId>` in the
# project root with ARTIFACTS_DIR set to the function's artifact folder; it expects the bootstrap there.
SAM_FUNCTIONS := TodoApiFunction:todo-api MigrateFunction:migrate \
	FailoverPreflightFunction:failover-preflight FailoverPromoteFunction:failover-promote \
	FailoverAwaitFunction:failover-await FailoverTrafficFunction:failover-traffic \
	FailoverVerifyFunction:failover-verify FailoverNotifyFunction:failover-notify \
	FailoverTriggerFunction:failover-trigger PeerProberFunction:peer-prober \
	LeaseRenewerFunction:lease-renewer EdgeRewriteNativeFunction:edge-rewrite
SAM_TARGETS := $(foreach f,$(SAM_FUNCTIONS),build-$(firstword $(subst :, ,$(f))))

.PHONY: $(SAM_TARGETS)
$(SAM_TARGETS): build-%:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand run make $@ ARTIFACTS_DIR=<folder>"; exit 2; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" \
		./functions/$(lastword $(subst :, ,$(filter $*:%,$(SAM_FUNCTIONS))))

build-deploy:
	@for f in $(SAM_FUNCTIONS); do \
		id=$${f%%:*}; fn=$${f#*:}; echo "build $$fn (linux/arm64, make build-$$id)"; \
		$(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(CURDIR)/.build/$$fn || exit 1; \
	done

build-local:
	@for fn in $(FUNCTIONS); do \
		GOOS=linux GOARCH=$(HOST_ARCH) $(GO) build $(BUILD_FLAGS) -o .build/local/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

## edge-bundle: the edge-rewrite handler as Go→WebAssembly inside a Node.js 22 loader, zipped for Lambda@Edge.
edge-bundle:
	@$(MAKE) --no-print-directory build-EdgeRewriteFunction ARTIFACTS_DIR=$(CURDIR)/.build/edge-rewrite-edge

# The Lambda@Edge function (template.yaml EdgeRewriteFunction), as sam build runs it.
.PHONY: build-EdgeRewriteFunction
build-EdgeRewriteFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it; by hand run make $@ ARTIFACTS_DIR=<folder>"; exit 2; }
	$(GO) run ./cmd/edgebundle -out "$(ARTIFACTS_DIR)"

## node: Node.js 22, aws-local-stepfunctions and asl-validator into node_modules (from package-lock.json).
node: node_modules/.bin/node
node_modules/.bin/node: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm (Debian: apt-get install -y npm); make then fetches Node 22 into node_modules"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

## test: the README's test command; CI runs it through .ci/run.
test: node lint
	$(GO) test -count=1 -timeout 14m ./...

## lint: formatting, vet, the state machine definition, and cfn-lint on every stack template.yaml makes.
lint: node lint-template
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@for f in statemachine/*.asl.json; do [ -e "$$f" ] || continue; \
		node_modules/.bin/asl-validator --json-path "$$f" || exit 1; done

## lint-template: cfn-lint (which runs the SAM translator) on each parameter combination of
## internal/templatecheck/stacks.json and each samconfig.toml environment, with its conditions decided,
## in the stack's region: no error and no warning. The undecided template must have no error; its warnings are listed in the README.
STACKS_DIR := .build/stacks
lint-template:
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is missing: pip install cfn-lint==1.51.0 aws-sam-translator==1.110.0 (see README, Tools)"; exit 1; }
	@rm -rf $(STACKS_DIR)
	python3 internal/templatecheck/stacks.py --no-translate --samconfig samconfig.toml --out $(STACKS_DIR)
	cfn-lint --regions us-east-1 -- $(STACKS_DIR)/primary-*.sam.json $(STACKS_DIR)/edge*.sam.json \
		$(STACKS_DIR)/samconfig-primary.sam.json $(STACKS_DIR)/samconfig-edge.sam.json
	cfn-lint --regions us-west-2 -- $(STACKS_DIR)/secondary-*.sam.json $(STACKS_DIR)/samconfig-secondary.sam.json
	cfn-lint --regions us-east-1 --non-zero-exit-code error -- template.yaml

## bench: the performance targets, measured (figures go in the README).
bench: node
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## drill: the local two-region failover drill (default the core three: switchover, unplanned, failback; SCENARIO=<name>, SCENARIO=faults or SCENARIO=all).
drill: node
	$(GO) run ./cmd/drill $(if $(SCENARIO),-scenario $(SCENARIO))

## run: a private MariaDB, migrations applied, the ToDo API at http://$(ADDR) until Ctrl-C
## (ADDR=127.0.0.1:3000; INVOKE_ADDR=127.0.0.1:3001 fixes the Invoke API's address, default a free port).
ADDR ?= 127.0.0.1:3000
INVOKE_ADDR ?=
run: build-local
	$(GO) run ./cmd/lambdahost run -addr '$(ADDR)' -invoke-addr '$(INVOKE_ADDR)'

## localcloud: the local AWS emulator at http://$(LOCALCLOUD_ADDR) for the AWS CLI or any SDK until Ctrl-C
## (SEED=<file> creates topics, secrets, hosted zones, global clusters and distributions first).
LOCALCLOUD_ADDR ?= 127.0.0.1:4566
localcloud:
	$(GO) run ./cmd/localcloud -addr '$(LOCALCLOUD_ADDR)' $(if $(SEED),-seed '$(SEED)')

## invoke: FN=<function> EVENT=events/<function>/<case>.json through the real binary.
invoke: build-local
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<function>/<case>.json"; exit 2; }
	$(GO) run ./cmd/lambdahost invoke -function $(FN) -event $(EVENT)

clean:
	rm -rf .build
