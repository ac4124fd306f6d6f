# lokerwatch — make test is what CI runs (.ci/run).
GO ?= go
PKGS ?= ./...

.PHONY: test fmt vet build bench fuzz

test: fmt vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fmt:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

build:
	$(GO) build -trimpath -o bin/lokerwatch ./cmd/lokerwatch

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
