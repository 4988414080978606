# Switchyard. `make drill` shows a whole failover locally; `make test` is the test command, and CI
# (.ci/run) runs it and then `make mutation-failover`.
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

.PHONY: all build build-deploy build-local edge-bundle test test-unit test-race vulncheck mutation mutation-failover lint lint-template bench drill run localcloud invoke node clean

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

## test: the README's test command; CI runs it through .ci/run, followed by mutation-failover.
test: node lint vulncheck test-unit test-race

# Packages whose code or tests run goroutines: make test runs them under the race detector (which
# needs cgo: gcc on PATH), the rest without it. The drill's package stays out: its real processes
# make it too slow under -race for make test.
RACE_PACKAGES := ./internal/db/... ./internal/failover/... ./internal/local/lambdahost/... \
	./internal/local/localcloud/... ./internal/local/replication/... ./internal/local/sfnlocal/... \
	./internal/local/edgeproxy/... ./internal/local/mariadb/... ./internal/local/netns/... ./internal/schema/... ./internal/todo/... \
	./internal/todoapi/... ./cmd/lambdahost/...

test-unit: node
	@race=$$($(GO) list $(RACE_PACKAGES)) || exit 1; \
		pkgs=$$($(GO) list ./... | grep -vxF "$$race") || exit 1; \
		$(GO) test -count=1 -timeout 14m $$pkgs

test-race: node
	@command -v gcc >/dev/null || { echo "test-race: the race detector needs cgo and gcc (Debian: apt-get install -y gcc)"; exit 1; }
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 14m $(RACE_PACKAGES)

# govulncheck reads the Go vulnerability database from golang.org/x/vulndb at this version, fetched
# through the module proxy like any module (a download, not a go.mod requirement: nothing builds
# against it). VULNDB=<dir of OSV files> scans against another database (the gate's own test seeds one).
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB ?=
# What is deployed: every function, and the edge handler again as the WebAssembly build CloudFront runs.
VULNCHECK_PACKAGES ?= ./functions/...
VULNCHECK_WASM_PACKAGES ?= ./functions/edge-rewrite

## vulncheck: govulncheck over the deployed code; fails on any vulnerability the code can reach.
## (The tool runs as a host binary, `go tool -n` gives its path: GOOS/GOARCH then pick what it scans.)
vulncheck:
	@db="$(VULNDB)"; \
	if [ -z "$$db" ]; then \
		dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
		[ -n "$$dir" ] || { echo "vulncheck: golang.org/x/vulndb@$(VULNDB_VERSION) did not download through the module proxy (GOPROXY=$$($(GO) env GOPROXY))"; exit 1; }; \
		db="$$dir/data/osv"; \
	fi; \
	vc=$$($(GO) tool -n govulncheck) || exit 1; \
	echo "govulncheck $(VULNCHECK_PACKAGES) against $$db"; \
	$$vc -db "file://$$db" $(VULNCHECK_PACKAGES) || { echo "vulncheck: the deployed code reaches a known vulnerability (above): update the module or the toolchain"; exit 1; }; \
	if [ -n "$(VULNCHECK_WASM_PACKAGES)" ]; then \
		echo "govulncheck $(VULNCHECK_WASM_PACKAGES) as wasip1/wasm"; \
		GOOS=wasip1 GOARCH=wasm $$vc -db "file://$$db" $(VULNCHECK_WASM_PACKAGES) || { echo "vulncheck: the edge's WebAssembly build reaches a known vulnerability (above)"; exit 1; }; \
	fi

# Mutation floors: package, then the least test efficacy (killed / (killed + lived), %) gremlins must
# measure there. MUTATION_FLOORS=... runs a subset (CI runs the failover domain only).
MUTATION_FLOORS ?= internal/failover:95 internal/todo:95 internal/todoapi:95 internal/edge:90 \
	internal/local/drill:90 internal/templatecheck/awsusage:90
# The drill's files gremlins does not mutate (a regexp on the path within the package): only its
# invariant checks (verify.go) are the safety code under test there; the rest drives real
# processes, which the tests left out by the mutation build tag exercise.
MUTATION_DRILL_EXCLUDE ?= ^(controlplane|detection|doc|env|faults|globaldb|jsonreport|lag|lease|load|orchestrator|partition|proxyphases|relay|report|rpo|scenario|steptap)\.go$$
# gremlins times a mutant out at coefficient x the unmutated run; a loaded 2-core machine needs room.
MUTATION_TIMEOUT_COEFFICIENT ?= 10

## mutation: gremlins on the safety-critical packages; fails when a package is below its floor.
## (gremlins v0.6.0 ignores its own --threshold-efficacy, so the floor is checked on its JSON report.)
mutation:
	@mkdir -p .build/mutation; \
	for pf in $(MUTATION_FLOORS); do \
		pkg=$${pf%%:*}; floor=$${pf##*:}; report=.build/mutation/$$(echo $$pkg | tr / -).json; \
		echo "== gremlins on $$pkg (test efficacy floor $$floor %)"; \
		exclude=; [ "$$pkg" != internal/local/drill ] || exclude='$(MUTATION_DRILL_EXCLUDE)'; \
		GOFLAGS=-count=1 $(GO) tool gremlins unleash --tags mutation $${exclude:+--exclude-files "$$exclude"} \
			--timeout-coefficient $(MUTATION_TIMEOUT_COEFFICIENT) \
			--output $$report --output-statuses l ./$$pkg \
			|| { echo "mutation: gremlins failed on $$pkg (above): its tests must pass unmutated"; exit 1; }; \
		$(GO) run ./internal/local/qualitygate/mutationfloor -floor $$floor $$report \
			|| { echo "mutation: $$pkg is below its floor: kill the LIVED mutants listed above with tests"; exit 1; }; \
	done

## mutation-failover: what CI runs after make test, the failover domain at its floor above.
mutation-failover:
	$(MAKE) mutation MUTATION_FLOORS="$(filter internal/failover:%,$(MUTATION_FLOORS))"

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
