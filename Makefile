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

.PHONY: all build build-deploy build-local edge-bundle test lint bench drill run invoke node clean

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
test: node lint
	$(GO) test -count=1 -timeout 14m ./...

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

## drill: the local two-region failover drill (SCENARIO=switchover|unplanned|failback, or faults|interrupted; default the first three).
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
