# meshhealth: build, run a local mesh, test, benchmark, fuzz.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/meshhealth/meshhealth/node.Version=$(VERSION)
NODES    ?= 5
RUN_DIR  ?= /tmp/meshhealth-run
FUZZTIME ?= 60s
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: build run test unit lint e2e bench fuzz fuzz-ci testnet clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/meshhealth ./cmd/node
	$(GO) build -o bin/testnet ./cmd/testnet

# A live 5-node mesh on loopback with a status table; Ctrl-C stops it.
run: build
	@bin/testnet down --dir $(RUN_DIR) >/dev/null 2>&1 || true
	bin/testnet up -n $(NODES) --mode local --dir $(RUN_DIR)
	@trap 'bin/testnet down --dir $(RUN_DIR)' EXIT INT TERM; bin/testnet status --watch --dir $(RUN_DIR) || true

# What CI runs: lint, unit and in-process mesh tests under the race
# detector, every fuzz target briefly, then real nodes through the testnet.
test: lint unit fuzz-ci e2e

unit:
	$(GO) test -race -count=1 -timeout 10m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

e2e: build
	bash testnet/ci.sh

# Each fuzz target for FUZZTIME (make fuzz FUZZTIME=5m); CI runs them for 10s.
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

fuzz-ci:
	@bash scripts/fuzz.sh 10s

testnet: build
	bin/testnet scenario converge --dir $(RUN_DIR)-scenarios

bench: build
	bash bench/run.sh

clean:
	@bin/testnet down --dir $(RUN_DIR) >/dev/null 2>&1 || true
	rm -rf bin $(RUN_DIR)
