# Keycard's developer commands. `make test` is what CI runs.
GO ?= go
FUZZTIME ?= 30s

.PHONY: test bench fuzz vet

test:
	$(GO) vet ./...
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# Benchmarks live in the separate bench/ module; results go to bench/results/.
bench:
	$(MAKE) -C bench

# Each fuzz target runs for FUZZTIME; the seed corpora live in testdata/.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
