package server

import (
	"io"
	"log/slog"
	"time"

	"github.com/keycard-go/keycard/jwt"
)

// Options configures a Server. A nil *Options is not enough: SigningKeys and
// FingerprintKey are required (`keycard serve` keeps them in its key file).
// The zero value of every other field is the secure default.
type Options struct {
	// IdleTimeout, AbsoluteTimeout, RenewalTimeout and RenewalGrace are the
	// session timeouts (keycard.Options); zero takes Keycard's defaults
	// (30 min, 12 h, 15 min, 30 s).
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	RenewalTimeout  time.Duration
	RenewalGrace    time.Duration

	// InsecureAllowHTTP drops the Secure attribute of the session cookie and
	// its __Host- prefix, for plain HTTP on a non-loopback address. Not
	// secure: anyone on the path can read the cookie. Default false (browsers
	// treat http://localhost and 127.0.0.1 as secure, so the demo on
	// loopback does not need it).
	InsecureAllowHTTP bool

	// TLS says the server is reached over TLS: every response then carries
	// Strict-Transport-Security. Default false.
	TLS bool

	// Issuer is the "iss" of the access tokens the server mints, normally its
	// public base URL. Default "keycard".
	Issuer string

	// SigningKeys sign access tokens, oldest first: the last one signs, every
	// one is published at /.well-known/jwks.json so that tokens signed before
	// a rotation keep verifying. Required.
	SigningKeys []*jwt.SigningKey

	// FingerprintKey keys the guard's client fingerprints (at least 32
	// bytes). It must stay the same across restarts and nodes, or every
	// session counts as moved to another browser. Required.
	FingerprintKey []byte

	// SealSecrets, when set, turn on sealed-cookie mode for browser sessions
	// (keycard.Options.Sealer): each secret (at least 32 bytes) is a key of
	// the seal key ring, oldest first, the last one sealing. Default none:
	// browser sessions are kept in the store like API sessions.
	SealSecrets [][]byte

	// AdminKeyHashes are the hashes (HashAdminKey) of the admin API keys the
	// trusted-backend endpoints accept; several for rotation. Default none:
	// the admin endpoints answer 401 to every request.
	AdminKeyHashes []string

	// TrustedProxies are the CIDR prefixes (or addresses) of reverse proxies
	// whose X-Forwarded-For is believed for the client IP. Default none: the
	// client IP is RemoteAddr.
	TrustedProxies []string

	// GatewayLoginURL is where /v1/auth (gateway mode) sends a browser
	// without a session: its 401 carries Location: GatewayLoginURL with a
	// return_to parameter, which nginx turns into a redirect
	// (error_page 401 =302) and Caddy passes on. A path ("/keycard/login",
	// the demo site's login page under the prefix the proxy gives it) or an
	// absolute URL. Default: none, and the 401 has no Location.
	GatewayLoginURL string

	// AllowedOrigins are the origins ("https://app.example.com") that
	// return URLs may point to, besides paths on the same host: the
	// absolute return_to that /v1/auth builds and the login page follows.
	// Anything else is dropped, so that the login page is no open
	// redirect. Default: none, only same-host paths.
	AllowedOrigins []string

	// Demo serves the demo site (login form, account page, devices) at /.
	Demo bool

	// Logger receives the server's operational log. Default slog.Default().
	Logger *slog.Logger

	// Audit receives one JSON line per security event (session IDs and
	// hashed subjects, never tokens). Default: none.
	Audit io.Writer

	// AuditSalt keys the subject hashes of the audit log (HMAC-SHA256), so
	// that the log can correlate a user's events without naming the user.
	// Default: FingerprintKey's derivation.
	AuditSalt []byte

	// Version is the version reported by /healthz. Default "dev".
	Version string

	// now is the clock, time.Now unless tests set another.
	now func() time.Time
}
