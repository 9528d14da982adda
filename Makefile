# Cloud Pillar: the common tasks. `make demo` and `make test` are the two
# that matter; CI runs .ci/run (make test, make fuzz, then make cross).

GO ?= go
AGENT := ./cmd/cloudpillar-agent

.PHONY: all demo test vet fmt-check bench fuzz cross clean

all: test

# A simulated fleet on the embedded default scenario; the report lands in out/<timestamp>/.
demo:
	$(GO) run ./cmd/cloudpillar sim

test: vet fmt-check
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

# Fails listing every file gofmt would change.
fmt-check:
	@files="$$(gofmt -l .)"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

# Every fuzz target for a short budget each (FUZZTIME=30s make fuzz for longer runs).
fuzz:
	./.ci/fuzz

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The shipped agent for every platform it ships on, into bin/.
cross:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o bin/cloudpillar-agent-linux-amd64 $(AGENT)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -o bin/cloudpillar-agent-linux-arm64 $(AGENT)
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -o bin/cloudpillar-agent-windows-amd64.exe $(AGENT)

# Build outputs only: reports under out/ are kept.
clean:
	rm -rf bin
