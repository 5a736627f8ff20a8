package keycard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
)

// Default values of Options.
const (
	DefaultCookieName      = "__Host-keycard"
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultRenewalTimeout  = 15 * time.Minute
	DefaultRenewalGrace    = 30 * time.Second

	// insecureCookieName is the default name when InsecureAllowHTTP is set:
	// the __Host- prefix requires the Secure attribute, so it cannot be kept.
	insecureCookieName = "keycard"
)

// Options configures a Manager. A nil *Options, and the zero value of every
// field, is the secure default. Fields that weaken security are named Insecure….
type Options struct {
	// CookieName is the name of the browser session cookie. Default
	// "__Host-keycard": the __Host- prefix makes browsers refuse the cookie
	// unless it is Secure, has Path=/ and no Domain, so a sibling subdomain
	// cannot plant or overwrite it (cookie tossing). Default "keycard" when
	// InsecureAllowHTTP is set.
	CookieName string

	// CookieDomain sets the cookie's Domain attribute, sharing the session
	// with every subdomain. Default empty (host-only), the secure choice; it
	// cannot be combined with a __Host- name.
	CookieDomain string

	// CookiePath is the cookie's Path. Default "/"; a __Host- name requires "/".
	CookiePath string

	// SameSite is the cookie's SameSite attribute. The zero value means
	// http.SameSiteLaxMode; http.SameSiteStrictMode is stricter. SameSiteNoneMode
	// lets cross-site requests carry the session (the application must then
	// rely fully on CSRF tokens) and is refused together with InsecureAllowHTTP,
	// since browsers require Secure for it.
	SameSite http.SameSite

	// InsecureAllowHTTP drops the Secure attribute so that the cookie works over
	// plain HTTP, for local development only: over plain HTTP anyone on the path
	// can read the token. Browsers treat http://localhost as secure, so even
	// local development rarely needs it. Default false.
	InsecureAllowHTTP bool

	// IdleTimeout ends a session after this long without activity. Default 30
	// minutes. Activity is recorded lazily (see the package documentation), so
	// a session may end up to min(1 minute, IdleTimeout/10) earlier, never later.
	IdleTimeout time.Duration

	// AbsoluteTimeout ends a session this long after it began, whatever its
	// activity; renewal and "remember me" never extend it. Default 12 hours.
	AbsoluteTimeout time.Duration

	// RenewalTimeout is how long a browser session's token is used before the
	// middleware replaces it by a fresh one. Default 15 minutes; negative
	// disables renewal. API sessions rotate through refresh tokens instead.
	RenewalTimeout time.Duration

	// RenewalGrace is how long a token replaced by renewal keeps working, so
	// that requests already in flight do not fail. Its use after that is
	// reported as EventReplay and ends the session. Default 30 seconds;
	// negative means no grace. It must be shorter than RenewalTimeout.
	RenewalGrace time.Duration

	// RememberMe configures the persistent sessions that SetRememberMe(true)
	// turns on. The zero value leaves remember-me off, and SetRememberMe(true)
	// then fails with ErrRememberMeOff: there is no safe universal default,
	// because a persistent cookie should not outlive a short idle limit
	// (OWASP). See RememberMe.
	RememberMe RememberMe

	// OnEvent, if set, receives every lifecycle and security event. It is
	// called synchronously from the request that caused it and must be quick
	// and safe for concurrent use. Events never carry a token.
	OnEvent func(Event)

	// Logger receives one record per event (security events at Warn,
	// lifecycle events at Debug) with the session ID, never the token or the
	// subject. Default slog.Default().
	Logger *slog.Logger

	// LogSubjectSalt, when set, adds to every log record of an event with a
	// subject the field subject_hash: the first 16 hex digits of
	// HMAC-SHA256(LogSubjectSalt, subject). It lets an operator correlate one
	// user's events across log lines without the logs naming the user. Use
	// at least 16 random bytes, kept out of the logs. Default nil: subjects
	// are not logged in any form.
	LogSubjectSalt []byte

	// ErrorHandler writes the middleware's own error responses: 400 for a
	// token in the URL or ambiguous credentials, 429 when the guard limits
	// the client, 503 when the store fails. err is ErrTokenInURL,
	// ErrAmbiguousCredentials, ErrRateLimited or wraps ErrStoreUnavailable.
	// Default: a JSON body {"error":{"code","message"}} for API clients and
	// scripts, and a plain HTML page for a browser's navigation (an Accept
	// header that rates text/html above application/json, and no
	// Authorization header).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)

	// ClearSiteData chooses the directives of the Clear-Site-Data header a
	// logout sends, which asks the browser to drop what it kept for the
	// logged-out user. The zero value means ClearCache|ClearCookies|ClearStorage,
	// as OWASP's Session Management Cheat Sheet advises; ClearNothing sends no
	// header. Scope (W3C Clear Site Data): "cache" and "storage" cover the
	// response's origin only, but "cookies" removes every cookie of the
	// registrable domain, sibling subdomains included: an application that
	// shares its site with others (app.example.com beside shop.example.com)
	// logs users out of them too, and drops their preference cookies. Such
	// applications should leave ClearCookies out; Keycard expires its own
	// cookie in any case.
	ClearSiteData ClearSiteData

	// Sealer, when set, turns on sealed-cookie mode for browser sessions:
	// the session's state is sealed (authenticated encryption) into the cookie
	// itself, so reading a session needs no session record. Logout, Revoke
	// and RevokeAll still take effect at once, on every node, through
	// revocation entries of their own kind (storage.Revocations), which each
	// node caches while the store announces their changes: a steady-state
	// sealed read makes no store call. New then starts a watcher (stop it
	// with Manager.Close) and waits up to 250 ms for it to subscribe. Pass a
	// *seal.Sealer. API sessions stay in the Store. See docs/sealed.md for
	// what sealed mode cannot do. Default nil: server-side sessions.
	Sealer Sealer

	// Guard, when set, binds sessions to the client fingerprint recorded at
	// login and limits invalid-token presentations per client network (see
	// package guard). Default nil: neither.
	Guard Guard

	// SessionLimit caps the live sessions of one subject (server-side
	// sessions; sealed ones cannot be counted). Default: no limit.
	SessionLimit SessionLimit

	// now is the clock, time.Now unless Keycard's own tests set another
	// through internal/testhook. Applications test time-driven behaviour
	// under testing/synctest, where time.Now is the bubble's clock.
	now func() time.Time
}

func init() {
	testhook.Register(func(o *Options, now func() time.Time) { o.now = now })
}

// RememberMe is the policy of persistent ("remember me") sessions. A
// session the application makes persistent with SetRememberMe(true)
// carries a cookie with Max-Age, gets IdleTimeout as its idle timeout, and
// ends AbsoluteTimeout after its last login at the latest: the application
// chooses both limits explicitly, for what its users expect ("stay signed
// in for 30 days unless unused for a week"). Renewal, fingerprint checks,
// logout and revocation apply to it as to any session. Toggling remember-me
// never extends a session beyond AbsoluteTimeout from its last login.
type RememberMe struct {
	// IdleTimeout ends a remembered session after this long without
	// activity. Required (positive) when remember-me is on; at most
	// AbsoluteTimeout.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a remembered session this long after its last
	// login, whatever its activity. Required (positive) when remember-me is
	// on; at most MaxRememberMe. It may exceed Options.AbsoluteTimeout,
	// which then applies only to sessions that are not remembered.
	AbsoluteTimeout time.Duration
}

// MaxRememberMe is the longest RememberMe.AbsoluteTimeout New accepts: 400
// days, the longest cookie lifetime browsers keep (RFC 6265bis section 5.5).
const MaxRememberMe = 400 * 24 * time.Hour

// ClearSiteData is a set of Clear-Site-Data directives (see
// Options.ClearSiteData).
type ClearSiteData uint8

// The Clear-Site-Data directives a logout can send.
const (
	ClearCache   ClearSiteData = 1 << iota // "cache": the origin's HTTP cache
	ClearCookies                           // "cookies": every cookie of the registrable domain
	ClearStorage                           // "storage": the origin's DOM storage, service workers
	// ClearNothing sends no Clear-Site-Data header at all.
	ClearNothing ClearSiteData = 1 << 7

	defaultClearSiteData = ClearCache | ClearCookies | ClearStorage
)

// header returns the Clear-Site-Data value of c, "" for none.
func (c ClearSiteData) header() string {
	var parts []string
	for _, d := range [...]struct {
		bit  ClearSiteData
		name string
	}{{ClearCache, `"cache"`}, {ClearCookies, `"cookies"`}, {ClearStorage, `"storage"`}} {
		if c&d.bit != 0 {
			parts = append(parts, d.name)
		}
	}
	return strings.Join(parts, ", ")
}

// config is the validated, defaulted copy of Options a Manager runs on.
type config struct {
	cookieName  string
	cookieAttrs string // "; Path=/; Secure; HttpOnly; SameSite=Lax" and Domain
	idle        time.Duration
	absolute    time.Duration
	renewal     time.Duration
	grace       time.Duration
	onEvent     func(Event)
	logger      *slog.Logger
	errHandler  func(http.ResponseWriter, *http.Request, int, error)
	now         func() time.Time
	sealer      Sealer
	guard       Guard
	subjectSalt []byte
	limit       SessionLimit
	clearSite   string // the Clear-Site-Data value of a logout, "" for none
	remember    RememberMe
	lifetime    time.Duration // the longest any session can live: max(absolute, remember.AbsoluteTimeout)
}

func newConfig(o *Options) (*config, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	c := &config{
		idle:        orDefault(opts.IdleTimeout, DefaultIdleTimeout),
		absolute:    orDefault(opts.AbsoluteTimeout, DefaultAbsoluteTimeout),
		renewal:     orDefault(opts.RenewalTimeout, DefaultRenewalTimeout),
		grace:       orDefault(opts.RenewalGrace, DefaultRenewalGrace),
		onEvent:     opts.OnEvent,
		logger:      opts.Logger,
		errHandler:  opts.ErrorHandler,
		now:         opts.now,
		sealer:      opts.Sealer,
		guard:       opts.Guard,
		subjectSalt: append([]byte(nil), opts.LogSubjectSalt...),
		limit:       opts.SessionLimit,
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.errHandler == nil {
		c.errHandler = defaultErrorHandler
	}
	if c.now == nil {
		c.now = time.Now
	}
	switch cs := opts.ClearSiteData; {
	case cs == 0:
		c.clearSite = defaultClearSiteData.header()
	case cs == ClearNothing:
	case cs&^defaultClearSiteData != 0:
		return nil, fmt.Errorf("keycard: ClearSiteData %#x: ClearNothing cannot be combined, and only ClearCache, ClearCookies and ClearStorage exist", uint8(cs))
	default:
		c.clearSite = cs.header()
	}
	if c.limit.Max < 0 {
		return nil, errors.New("keycard: SessionLimit.Max must not be negative")
	}
	if c.idle < 0 || c.absolute < 0 {
		return nil, errors.New("keycard: timeouts must be positive")
	}
	if c.idle > c.absolute {
		return nil, fmt.Errorf("keycard: IdleTimeout %v exceeds AbsoluteTimeout %v", c.idle, c.absolute)
	}
	if c.renewal < 0 {
		c.renewal = 0 // disabled
	}
	if c.grace < 0 {
		c.grace = 0
	}
	if c.renewal > 0 && c.grace >= c.renewal {
		return nil, fmt.Errorf("keycard: RenewalGrace %v must be shorter than RenewalTimeout %v", c.grace, c.renewal)
	}
	rm := opts.RememberMe
	switch {
	case rm == RememberMe{}:
	case rm.IdleTimeout <= 0 || rm.AbsoluteTimeout <= 0:
		return nil, errors.New("keycard: RememberMe needs both IdleTimeout and AbsoluteTimeout (positive), or neither")
	case rm.IdleTimeout > rm.AbsoluteTimeout:
		return nil, fmt.Errorf("keycard: RememberMe.IdleTimeout %v exceeds RememberMe.AbsoluteTimeout %v", rm.IdleTimeout, rm.AbsoluteTimeout)
	case rm.AbsoluteTimeout > MaxRememberMe:
		return nil, fmt.Errorf("keycard: RememberMe.AbsoluteTimeout %v exceeds %v, the longest cookie lifetime browsers keep", rm.AbsoluteTimeout, MaxRememberMe)
	}
	c.remember = rm
	c.lifetime = max(c.absolute, rm.AbsoluteTimeout)

	name := opts.CookieName
	if name == "" {
		name = DefaultCookieName
		if opts.InsecureAllowHTTP {
			name = insecureCookieName
		}
	}
	if !validCookieName(name) {
		return nil, fmt.Errorf("keycard: invalid cookie name %q", name)
	}
	path := opts.CookiePath
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, ";\r\n\x00") {
		return nil, fmt.Errorf("keycard: invalid cookie path %q", path)
	}
	if strings.ContainsAny(opts.CookieDomain, "; \t\r\n\x00") {
		return nil, fmt.Errorf("keycard: invalid cookie domain %q", opts.CookieDomain)
	}
	// The cookie prefixes are defined in RFC 6265bis section 4.1.3: a browser
	// drops a __Host- cookie unless it is Secure, Path=/ and without Domain,
	// and a __Secure- cookie unless it is Secure. Refuse a configuration that
	// browsers would silently ignore. Browsers match the prefixes without
	// regard to case (RFC 6265bis section 5.7, the storage model), so "__host-" binds
	// them to the same rules.
	if hasPrefixFold(name, "__Host-") {
		switch {
		case opts.InsecureAllowHTTP:
			return nil, fmt.Errorf("keycard: cookie name %q needs Secure, which InsecureAllowHTTP removes; choose another name", name)
		case opts.CookieDomain != "":
			return nil, fmt.Errorf("keycard: cookie name %q cannot have a Domain; leave CookieDomain empty or choose another name", name)
		case path != "/":
			return nil, fmt.Errorf("keycard: cookie name %q requires CookiePath \"/\"", name)
		}
	}
	if hasPrefixFold(name, "__Secure-") && opts.InsecureAllowHTTP {
		return nil, fmt.Errorf("keycard: cookie name %q needs Secure, which InsecureAllowHTTP removes", name)
	}
	var sameSite string
	switch opts.SameSite {
	case 0, http.SameSiteLaxMode:
		sameSite = "Lax"
	case http.SameSiteStrictMode:
		sameSite = "Strict"
	case http.SameSiteNoneMode:
		if opts.InsecureAllowHTTP {
			return nil, errors.New("keycard: SameSite=None requires Secure, which InsecureAllowHTTP removes")
		}
		sameSite = "None"
	default:
		return nil, fmt.Errorf("keycard: unsupported SameSite mode %d", opts.SameSite)
	}
	var b strings.Builder
	b.WriteString("; Path=")
	b.WriteString(path)
	if opts.CookieDomain != "" {
		b.WriteString("; Domain=")
		b.WriteString(opts.CookieDomain)
	}
	if !opts.InsecureAllowHTTP {
		b.WriteString("; Secure")
	}
	b.WriteString("; HttpOnly; SameSite=")
	b.WriteString(sameSite)
	c.cookieName = name
	c.cookieAttrs = b.String()
	return c, nil
}

// The lifecycle rules of a session, written once.

// idleTimeout returns the idle timeout that applies to rec.
func (c *config) idleTimeout(rec *storage.Record) time.Duration {
	if rec.IdleTimeout > 0 {
		return rec.IdleTimeout
	}
	return c.idle
}

// idleDeadline returns the idle deadline of rec for activity at now, capped
// by its absolute deadline.
func (c *config) idleDeadline(rec *storage.Record, now time.Time) time.Time {
	return rec.IdleDeadline(now, c.idle)
}

// touchDue reports whether activity at now moves rec's idle deadline by more
// than the touch granularity, min(1 minute, idle/10), and must be written:
// activity is recorded lazily, so that reads do not write the store.
func (c *config) touchDue(rec *storage.Record, now time.Time) bool {
	return c.idleDeadline(rec, now).Sub(rec.IdleExpiresAt) > min(time.Minute, c.idleTimeout(rec)/10)
}

// setPersistent turns remember-me on or off for rec. The absolute
// deadline counts from the last login (or the creation of a session never
// logged in), so turning remember-me off and on again never extends it.
func (c *config) setPersistent(rec *storage.Record, on bool) {
	base := rec.AuthenticatedAt
	if base.IsZero() {
		base = rec.CreatedAt
	}
	rec.Persistent = on
	if on {
		rec.IdleTimeout = c.remember.IdleTimeout
		rec.ExpiresAt = base.Add(c.remember.AbsoluteTimeout)
		return
	}
	rec.IdleTimeout = 0
	if limit := base.Add(c.absolute); rec.ExpiresAt.After(limit) {
		rec.ExpiresAt = limit
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validCookieName reports whether name is an RFC 7230 token, as RFC 6265
// requires of a cookie name.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
