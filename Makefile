# Keycard's developer commands. `make test` is what CI runs.
GO ?= go
FUZZTIME ?= 30s

.PHONY: test bench bench-server bench-gateway fuzz vet

test:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# Benchmarks: the side-by-side HTTP and store scenarios of the separate
# bench/ module (results in bench/results/), then memstore at 1,000,000 live
# sessions (heap bytes per session, longest request stall during expiry).
bench:
	$(MAKE) -C bench
	$(GO) test -run '^$$' -bench 'MillionSessions' -benchtime 1x -count 3 ./memstore | tee bench/results/million.txt

# The HTTP server under load over loopback (bench/serverload): requests/s
# of GET /v1/session on every store next to a net/http hello world, p99 at
# 2,000 req/s, cold start; results in bench/results/server.md. DURATION=10s
# ROUNDS=5 lengthen the throughput runs.
bench-server:
	$(MAKE) -C bench server

# Gateway mode through real nginx (needs nginx and wrk): req/s of nginx →
# Keycard /v1/auth (SQLite) → app against nginx → an always-200 auth service
# → app, and the latency of /v1/auth alone at 2,000 req/s.
bench-gateway:
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench 'Gateway' -benchtime 1x -count 1 ./gateway | tee bench/results/gateway.txt

# Each fuzz target runs for FUZZTIME; the seed corpora live in testdata/.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
