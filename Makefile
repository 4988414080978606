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

.PHONY: all build build-deploy build-local edge-bundle test test-unit test-race vulncheck mutation mutation-failover lint bench drill run invoke node clean

all: build

## build: every function as linux/arm64 .build/<function>/bootstrap (deployment), as the host
## architecture .build/local/<function>/bootstrap (local host), and the Lambda@Edge zip.
build: build-deploy build-local edge-bundle

build-deploy:
	@for fn in $(FUNCTIONS); do \
		echo "build $$fn (linux/arm64)"; \
		GOOS=linux GOARCH=arm64 $(GO) build $(BUILD_FLAGS) -o .build/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

build-local:
	@for fn in $(FUNCTIONS); do \
		GOOS=linux GOARCH=$(HOST_ARCH) $(GO) build $(BUILD_FLAGS) -o .build/local/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

## edge-bundle: the edge-rewrite handler as Go→WebAssembly inside a Node.js 22 loader, zipped for Lambda@Edge.
edge-bundle:
	$(GO) run ./cmd/edgebundle -out .build/edge-rewrite-edge

## node: Node.js 22, aws-local-stepfunctions and asl-validator into node_modules (from package-lock.json).
node: node_modules/.bin/node
node_modules/.bin/node: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm (Debian: apt-get install -y npm); make then fetches Node 22 into node_modules"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

## test: the README's test command; CI runs it through .ci/run.
test: node lint vulncheck test-unit test-race

# Packages whose code or tests run goroutines: make test runs them under the race detector (which
# needs cgo: gcc on PATH), the rest without it. The drill's package stays out: its real processes
# make it too slow under -race for make test.
RACE_PACKAGES := ./internal/db/... ./internal/failover/... ./internal/local/lambdahost/... \
	./internal/local/localcloud/... ./internal/local/replication/... ./internal/local/sfnlocal/... \
	./internal/local/edgeproxy/... ./internal/local/mariadb/... ./internal/schema/... ./internal/todo/... \
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
MUTATION_FLOORS ?= internal/failover:95 internal/todo:95 internal/todoapi:95 internal/edge:90
# gremlins times a mutant out at coefficient x the unmutated run; a loaded 2-core machine needs room.
MUTATION_TIMEOUT_COEFFICIENT ?= 10

## mutation: gremlins on the safety-critical packages; fails when a package is below its floor.
## (gremlins v0.6.0 ignores its own --threshold-efficacy, so the floor is checked on its JSON report.)
mutation:
	@mkdir -p .build/mutation; \
	for pf in $(MUTATION_FLOORS); do \
		pkg=$${pf%%:*}; floor=$${pf##*:}; report=.build/mutation/$$(echo $$pkg | tr / -).json; \
		echo "== gremlins on $$pkg (test efficacy floor $$floor %)"; \
		GOFLAGS=-count=1 $(GO) tool gremlins unleash --timeout-coefficient $(MUTATION_TIMEOUT_COEFFICIENT) \
			--output $$report --output-statuses l ./$$pkg \
			|| { echo "mutation: gremlins failed on $$pkg (above): its tests must pass unmutated"; exit 1; }; \
		$(GO) run ./internal/local/qualitygate/mutationfloor -floor $$floor $$report \
			|| { echo "mutation: $$pkg is below its floor: kill the LIVED mutants listed above with tests"; exit 1; }; \
	done

## mutation-failover: what CI runs, the failover domain at its floor above.
mutation-failover:
	$(MAKE) mutation MUTATION_FLOORS="$(filter internal/failover:%,$(MUTATION_FLOORS))"

## lint: formatting, vet, the state machine definition.
lint: node
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@for f in statemachine/*.asl.json; do [ -e "$$f" ] || continue; \
		node_modules/.bin/asl-validator --json-path "$$f" || exit 1; done

## bench: the performance targets, measured (figures go in the README).
bench: node
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## drill: the local two-region failover drill (SCENARIO=switchover|unplanned|failback, default all).
drill: node
	$(GO) run ./cmd/drill $(if $(SCENARIO),-scenario $(SCENARIO))

## run: a private MariaDB, migrations applied, the ToDo API at http://127.0.0.1:3000 until Ctrl-C.
run: build-local
	$(GO) run ./cmd/lambdahost run

## invoke: FN=<function> EVENT=events/<function>/<case>.json through the real binary.
invoke: build-local
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<function>/<case>.json"; exit 2; }
	$(GO) run ./cmd/lambdahost invoke -function $(FN) -event $(EVENT)

clean:
	rm -rf .build
