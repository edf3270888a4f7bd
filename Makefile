# swcli: `make build`, `make test`, `make demo`, `make bench`.
VERSION ?= 0.1.0-dev
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
BIN := $(CURDIR)/bin

.PHONY: build test test-short demo bench deps vet clean

# build: bin/swcli as shipped, bin/swcli-swclitest the same with the test
# hooks (-tags swclitest; internal/testbin) for the end-to-end tests, and
# the plugins.
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/swcli ./cmd/swcli
	$(GO) build -tags swclitest -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/swcli-swclitest ./cmd/swcli
	$(GO) run ./tools/genplugins -bin $(BIN) -ldflags "$(LDFLAGS)"

# deps installs what the tests need on a fresh machine of this kind.
deps:
	./.ci/deps

test: build deps
	$(GO) vet ./...
	SWCLI_BIN=$(BIN) $(GO) test -count=1 -timeout 25m ./...

test-short: build
	SWCLI_BIN=$(BIN) $(GO) test -short -count=1 ./...

demo: build
	$(GO) run ./tools/demo -bin $(BIN)

bench: build deps
	SWCLI_BIN=$(BIN) $(GO) run ./bench -bin $(BIN)

clean:
	rm -rf $(BIN)
