// Package keycard is secure-by-default HTTP session management.
//
// A Manager keeps sessions in a Store and hands every request a Session
// through its middleware:
//
//	sessions, err := keycard.New(memstore.New(nil), nil) // nil: secure defaults
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		// ... verify the user's password, then:
//		if err := keycard.Login(r.Context(), "alice"); err != nil {
//			http.Error(w, "login failed", http.StatusInternalServerError)
//		}
//	})
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s := keycard.FromContext(r.Context())
//		fmt.Fprintln(w, "hello", s.Subject())
//	})
//	log.Fatal(http.ListenAndServe("localhost:8080", sessions.Handler(mux)))
//
// # Security model
//
// A session token is 32 bytes from crypto/rand in base64url (43 characters)
// and means nothing by itself. Stores key sessions by the token's SHA-256;
// the raw token never reaches a store, a log line, an event or an error, and
// the Token type prints REDACTED. A token the server did not issue is never
// adopted (strict mode): an unknown token is treated as no session, and a
// session is created, with a fresh token, only when the application writes
// to it. Every change of privilege (Login, Renew, SetRememberMe) replaces the
// token, and the old one stops working at once, which defeats session
// fixation. Logout destroys the record server-side.
//
// Browser sessions travel in one cookie, by default "__Host-keycard" with
// Secure, HttpOnly, SameSite=Lax, Path=/, no Domain and no Max-Age. API
// sessions travel as "Authorization: Bearer"; a token is accepted only
// through the transport of its kind. A token in a URL query is refused with
// 400. Options that weaken any of this are named Insecure…, and New refuses
// combinations that browsers would ignore (a __Host- cookie with a Domain,
// SameSite=None without Secure).
//
// # Timeouts
//
// All deadlines are enforced by the server with the Manager's clock:
// the idle timeout (default 30 minutes), the absolute timeout (default 12
// hours, never extended by activity, renewal or "remember me") and the
// renewal timeout (default 15 minutes), after which a browser session's
// token is replaced. The replaced token keeps working for a grace window
// (default 30 seconds) so that requests already in flight do not fail; its
// use after the window is reported as EventReplay and ends the session for
// everyone, since two parties evidently hold it.
//
// Activity is recorded lazily: a request writes the store only when the idle
// deadline would move by more than min(1 minute, idle timeout/10). A
// session may therefore end up to that much before its exact idle deadline,
// never after it, and a read-only request costs one store read.
//
// # Concurrency
//
// A Session loads its record on first use and commits once, before the first
// byte of the response. Commits are compare-and-swap on the record's
// version. When another request wrote the session first, the commit re-reads
// it and reapplies only the keys this request set or deleted, so concurrent
// writers to different keys lose nothing; for the same key, the last commit
// wins. A request that loaded a session which another request then destroyed,
// revoked or renewed without grace can never write it back: its changes are
// dropped, because Delete and Rotate leave tombstones that no Update
// overwrites. When the session was renewed with grace (automatic renewal), the
// changes move to the new token's record. After eight consecutive conflicts
// the request is answered 503 with Retry-After.
//
// A browser request that writes values without reading its session, on a
// store that implements storage.Merger (every store of this module), skips the read: its
// changes go to the store as one Merge, which applies them atomically only
// to a live session within its deadlines, so the same guarantees hold
// (different keys are all kept, an ended session is never written back).
// When the store declines, the request takes the path above.
//
// # Store failures
//
// When the store fails, the middleware answers 503 with a generic JSON body
// (a plain HTML page for a browser's navigation), whatever the handler
// wrote, and logs the cause. It never treats an outage
// as "no session": users are neither logged out nor let in.
//
// # Errors
//
// Every error of this package has one HTTP status and one stable machine
// code, listed with it (ErrorStatus returns them; WriteError writes the
// JSON body {"error":{"code","message"}} every Keycard HTTP API answers
// with). Events carry a typed Reason.
//
// # Choosing a store
//
// memstore keeps sessions in the process, for tests and single-process
// programs. sqlitestore is the embedded on-disk default; redisstore and
// pgstore serve several processes at once. Every store passes the storetest
// conformance suite against the real server. The contract between the
// Manager and a store is package storage, for store implementers.
//
// # Layout
//
// A request's path reads top-down: Handler (middleware.go) reads the
// credential and picks the mode of its transport; the Session (session.go)
// holds the request's state and hands loading, committing and ending to the
// mode: serverMode (server.go) keeps sessions in the store, sealedMode
// (sealed.go) in the cookie, with its revocation state in revocations.go.
// docs/layout.md walks through it.
package keycard
