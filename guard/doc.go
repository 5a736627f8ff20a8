// Package guard detects stolen sessions and slows down token guessing: it
// binds a session to a keyed fingerprint of its client, limits the invalid
// session tokens each client network may present, and works out the client
// IP behind trusted reverse proxies only.
//
// A short complete program (without Keycard's session layer, which calls
// these for you):
//
//	g, err := guard.New(key, &guard.Options{TrustedProxies: []string{"10.0.0.0/8"}})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		// ... check the password, create the session, then:
//		sess.Fingerprint = g.Fingerprint(r)
//	})
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		sess, ok := lookup(r) // the session store
//		if !ok {
//			// An unknown, expired or forged token: count it.
//			if within, retry := g.Invalid(r); !within {
//				w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
//				http.Error(w, "too many invalid tokens", http.StatusTooManyRequests)
//				return
//			}
//			http.Error(w, "no session", http.StatusUnauthorized)
//			return
//		}
//		switch v := g.Check(sess.Fingerprint, r); v.Action {
//		case keycard.GuardRevoke:
//			revoke(sess) // and report the anomaly
//		case keycard.GuardReauth:
//			sess.NeedsLogin = true
//		case keycard.GuardLog:
//			slog.Warn("client changed", "session", sess.ID, "signals", v.Changed)
//		}
//	})
//	log.Fatal(http.ListenAndServe(":8080", g.Limit(mux)))
//
// # Security model
//
// Detection first, as OWASP's Session Management Cheat Sheet advises: a
// session token is the credential, and the properties of the client that
// presents it (its browser, language and network) are evidence, not proof.
// They can be forged by an attacker who knows them and change innocently for
// a legitimate user. So by default a change is logged, and a different
// browser class for the same token (another rendering engine, or a program
// that is not a browser), which an ordinary user does not cause, requires
// re-authentication. Nothing ends a session by default: the browser is read
// from headers the client writes, and a misreading must not log a user out.
// Every signal's action can be raised or lowered (Actions), up to
// keycard.GuardRevoke: the actions are the session Manager's own
// (keycard.GuardAction), so a verdict means the same here and there.
//
// Nothing raw is kept: a fingerprint holds a 48-bit HMAC-SHA256 of each
// signal under a key derived from the configured one, so a leaked session
// record reveals neither the user agent nor the network to anyone without the
// key, and the
// comparison still tells which signal changed. Fingerprints are still not
// for logs; log the changed signals (Verdict.Changed) instead.
//
// # Trusted proxies
//
// The client IP is RemoteAddr unless the connection comes from one of
// Options.TrustedProxies. Only then is the one configured header
// (X-Forwarded-For or RFC 7239 Forwarded) read, from right to left, skipping
// trusted proxies: the first untrusted address is the client, and anything
// further left, which the client wrote itself, is ignored. A malformed hop
// among the ones we must read fails closed to RemoteAddr. See ClientIP for
// the reasoning and references. A trusted range that includes clients lets
// them choose their address: list only the proxies.
//
// # Fingerprints
//
// The signals are the browser class, the browser family and major version,
// Accept-Language (case and spaces ignored), and the client network: the /24
// of an IPv4 address or the /48 of an IPv6 one (IPv4-mapped IPv6 counts as
// IPv4). Record Fingerprint(r) at login and pass it to Check on later
// requests.
//
// The browser is read from the Sec-CH-UA client hint where the browser sends
// one (Chromium-based browsers do, over HTTPS), and from the User-Agent
// otherwise. The User-Agents of Chrome, Chromium, Edge, Firefox, Safari,
// Opera, Samsung Internet, in-app web views, crawlers, curl and Go's client
// are told apart; Brave is known from its hints only; the rest are "other".
//
// The class is the rendering engine (Blink, Gecko, WebKit, or an older one)
// or the kind of program that is not a browser (curl, Go's client, a
// crawler, unknown). It is coarse on purpose, so that one browser keeps its
// class in all its modes: "request desktop site" turns an iPhone or iPad
// into a Mac and an Android phone into Linux, Chrome on iOS may then read as
// Safari, and Samsung Internet's desktop mode as Chrome, but the engine
// stays. Every browser and in-app view on iOS is WebKit, so they share
// Safari's class. Such a switch is at most a version change, which is
// logged. The price is that another browser of the same engine (Chrome to
// Edge) is a version change too, not a browser change.
//
// Fingerprints start "g2.". Check still compares a "g1." fingerprint, stored
// before the class existed, the way it was made (by family, from the
// User-Agent alone), so that existing sessions keep working; each gets a g2
// fingerprint at its next login.
//
// # Invalid-token limiter
//
// Presentations of invalid session tokens are counted per client network in
// a token bucket (default 20 a minute, bursts of 10). Invalid counts one,
// after the store found the token invalid, and says in the same atomic step
// whether the network is still within its limit, so a valid token is never
// refused and concurrent guesses cannot slip past; this is what Keycard's
// Manager uses. Allow only checks, and Limit is a middleware that refuses a
// limited network outright with 429 and Retry-After, for applications
// without a session layer: in front of one it would lock out every valid
// session behind a shared address (NAT). At most Options.MaxNetworks networks are remembered
// (least recently seen are forgotten first), so a flood of source addresses
// costs a bounded amount of memory; the price is that a network forgotten
// under such a flood starts afresh. The limiter is a speed bump, not the
// defence: session tokens have 256 bits and cannot be guessed.
//
// # Testing
//
// A Guard reads time.Now; there is no clock option. A test of the limiter's
// refill runs under testing/synctest, whose bubble moves time.Now for the
// Guard, the session Manager and the rest of the program alike.
package guard
