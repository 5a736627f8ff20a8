// Package metrics exports Keycard's session events, CSRF rejections and store
// latency as Prometheus metrics, through github.com/prometheus/client_golang.
// It is an adapter: the core packages do not depend on Prometheus, and an
// application that does not import this package does not compile it.
//
// A Collector is fed from three places: keycard.Options.OnEvent (every
// lifecycle and security event), csrf.Options.DenyHandler (every CSRF
// rejection) and a Store wrapper (every store call):
//
//	collector, err := metrics.New(nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	prometheus.MustRegister(collector)
//
//	store := memstore.New(nil)
//	defer store.Close()
//	sessions, err := keycard.New(collector.InstrumentStore(store), &keycard.Options{
//		OnEvent: metrics.Chain(collector.OnEvent, audit), // audit: the application's own hook
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	protect, err := csrf.Protect(&csrf.Options{
//		Secrets:     sessions.CSRFSecrets(),
//		DenyHandler: collector.CSRFDenyHandler(nil),
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/", sessions.Handler(protect(app)))
//	http.Handle("GET /metrics", promhttp.Handler()) // on an internal listener in production
//
// # Metrics
//
// Counters of session events, one per keycard.EventType:
//
//	keycard_sessions_created_total
//	keycard_sessions_authenticated_total
//	keycard_sessions_renewed_total
//	keycard_sessions_destroyed_total
//	keycard_sessions_expired_total
//	keycard_sessions_revoked_total
//	keycard_invalid_tokens_total{reason}
//	keycard_replays_total
//	keycard_anomalies_total{signal,action}
//	keycard_rate_limited_total
//
// and of CSRF rejections, and a histogram of store calls:
//
//	keycard_csrf_rejections_total{reason}
//	keycard_store_duration_seconds{op,result}
//
// An anomaly whose Reason lists several changed signals ("browser,network")
// counts once per signal, each with the action the guard chose (log, reauth,
// revoke), so keycard_anomalies_total counts signals, not events.
//
// # Cardinality and secrets
//
// Every label value comes from a fixed set written in this package:
//
//   - reason of keycard_invalid_tokens_total: malformed, duplicate_cookie,
//     unknown, wrong_kind, replaced, destroyed, unsealable, revoked,
//     malformed_refresh, unknown_refresh, no_refresh, wrong_refresh, other;
//   - signal of keycard_anomalies_total: browser, browser_version,
//     accept_language, network, other; action: none, log, reauth, revoke;
//   - reason of keycard_csrf_rejections_total: cross_origin, token_missing,
//     token_invalid, other;
//   - op of keycard_store_duration_seconds: get, get_by_id, create, update,
//     rotate, delete, delete_by_id, list, delete_subject, delete_expired,
//     and merge for a store that implements storage.Merger (the wrapper
//     keeps that ability of the store it wraps);
//     result: ok, not_found, conflict, exists, error.
//
// Anything outside these sets, such as a reason a newer Keycard or a custom
// Guard invents, counts as "other". No label ever carries a session ID, a
// subject, a token, a cookie, a fingerprint, an address or text a client
// sent, so the number of series is bounded whatever the traffic, and the
// metrics endpoint reveals nothing an attacker could replay. It still tells
// an observer how busy and how attacked the service is: serve it on an
// internal listener, not to the internet.
//
// # Performance
//
// OnEvent and the CSRF handler cost one counter increment per event; the
// store wrapper adds one histogram observation (two clock reads and a label
// lookup) to every store call. They run synchronously in the request, like
// every OnEvent hook.
package metrics
