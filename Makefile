# lokerwatch — make test is what CI runs (.ci/run).
GO ?= go
PKGS ?= ./...

.PHONY: test fmt vet build bench fuzz rules

test: fmt vet rules
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Alert rules and their unit tests (promtool from Debian's prometheus package).
rules:
	@command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus"; exit 1; }
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

fmt:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

build:
	$(GO) build -trimpath -o bin/lokerwatch ./cmd/lokerwatch

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Fuzz targets of hostile input, each run for FUZZTIME (go test -fuzz takes
# one target at a time). CI: make fuzz; a longer run: make fuzz FUZZTIME=60s.
FUZZTIME ?= 10s
FUZZ_TARGETS ?= ./crawler:FuzzJobBoard ./crawler:FuzzTelegram ./crawler:FuzzFeed ./crawler:FuzzProfile \
	./crawler:FuzzCanonical ./crawler:FuzzParseHTML ./config:FuzzParse

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg), $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
	done
