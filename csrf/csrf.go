package csrf

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Reasons a request is rejected. The middleware answers every one of them with
// the same 403 and a generic body; the reason goes to the log and to
// FailureReason for a custom DenyHandler. None of them carries a token.
var (
	// ErrCrossOrigin means the first line (http.CrossOriginProtection) found a
	// cross-origin browser request from an origin that is not trusted.
	ErrCrossOrigin = errors.New("csrf: cross-origin request")
	// ErrTokenMissing means a state-changing request carried no token in the
	// header nor in the form field.
	ErrTokenMissing = errors.New("csrf: token missing")
	// ErrTokenInvalid means the token is malformed, belongs to another session, was
	// issued before a rotation, or the session has no secret. One error for
	// every reason, so that nothing can be learned from the answer.
	ErrTokenInvalid = errors.New("csrf: token invalid")
)

// Options configures a Protector. A nil *Options means all defaults, and the
// zero value of every field is the secure choice.
type Options struct {
	// TrustedOrigins are origins whose cross-origin requests are allowed
	// through the first line, as exact "scheme://host[:port]" strings the way
	// browsers send them in the Origin header: lowercase, http or https, no
	// default port, no path, no trailing slash, no wildcard. New rejects
	// anything else. Such requests still need a valid token. Default: none.
	TrustedOrigins []string

	// InsecureBypassPatterns are http.ServeMux patterns ("POST /webhook/{id}")
	// whose requests skip both the cross-origin check and the token check.
	// Not secure: use them only for endpoints authenticated by other means
	// (signed webhooks), and declare them next to the routes they exempt.
	// New rejects an invalid or conflicting pattern. Default: none.
	InsecureBypassPatterns []string

	// Secrets keeps the per-session secret. Default: a CookieStore with its
	// defaults. Keycard's session Manager provides one bound to the session.
	Secrets SecretStore

	// FieldName is the form field that carries the token. Default "csrf_token".
	FieldName string

	// HeaderName is the request header that carries the token; it is looked
	// at before the form. Default "X-CSRF-Token".
	HeaderName string

	// DenyHandler answers rejected requests; FailureReason tells it why.
	// Default: 403 with the body "Forbidden".
	DenyHandler http.Handler

	// Logger receives one line per rejection with its reason, never a token
	// or a cookie. Default slog.Default().
	Logger *slog.Logger
}

// Protector is the CSRF middleware: http.CrossOriginProtection first, then a
// session-bound synchronizer token for every state-changing request. It is safe
// for concurrent use; its configuration cannot change after New.
type Protector struct {
	cop     *http.CrossOriginProtection
	bypass  *http.ServeMux
	secrets SecretStore
	field   string
	header  string
	deny    http.Handler
	log     *slog.Logger
}

// New validates opts and returns a Protector. It returns an error for a
// trusted origin that is not an exact origin and for an invalid bypass pattern.
func New(opts *Options) (*Protector, error) {
	if opts == nil {
		opts = &Options{}
	}
	p := &Protector{
		cop:     http.NewCrossOriginProtection(),
		secrets: opts.Secrets,
		field:   opts.FieldName,
		header:  opts.HeaderName,
		deny:    opts.DenyHandler,
		log:     opts.Logger,
	}
	if p.secrets == nil {
		p.secrets = &CookieStore{}
	}
	if p.field == "" {
		p.field = "csrf_token"
	}
	if p.header == "" {
		p.header = "X-CSRF-Token"
	}
	p.header = http.CanonicalHeaderKey(p.header)
	if p.deny == nil {
		p.deny = http.HandlerFunc(forbidden)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	for _, o := range opts.TrustedOrigins {
		if err := ValidateOrigin(o); err != nil {
			return nil, err
		}
		if err := p.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("csrf: trusted origin %q: %w", o, err)
		}
	}
	if len(opts.InsecureBypassPatterns) > 0 {
		p.bypass = http.NewServeMux()
		for _, pat := range opts.InsecureBypassPatterns {
			if err := registerBypass(p.bypass, pat); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// registerBypass turns the panic of ServeMux.Handle on a bad pattern into an error.
func registerBypass(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("csrf: bypass pattern %q: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, bypassed)
	return nil
}

// bypassMarker marks the routes of InsecureBypassPatterns in p.bypass. It is
// a pointer so that the handler found by the mux can be compared with it.
type bypassMarker struct{}

func (*bypassMarker) ServeHTTP(http.ResponseWriter, *http.Request) {}

var bypassed http.Handler = &bypassMarker{}

// ValidateOrigin reports whether s is an origin exactly as a browser sends it
// in the Origin header: "http" or "https", "://", a lowercase ASCII host, an
// optional non-default port, and nothing else. Exactness matters because
// trusted origins are compared byte for byte: "https://Example.com" or
// "https://example.com/" would never match and would hide a configuration
// mistake, and host-only matching let attackers through in other libraries.
func ValidateOrigin(s string) error {
	bad := func(why string) error { return fmt.Errorf("csrf: trusted origin %q: %s", s, why) }
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return bad("must be printable ASCII (use the punycode form of the host)")
		}
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return bad("must be lowercase")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad(`scheme must be "http" or "https"`)
	}
	if u.Opaque != "" || u.User != nil || u.Host == "" || u.Scheme+"://"+u.Host != s {
		return bad(`must be exactly scheme://host[:port] (no user, path, trailing slash, query or fragment)`)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || strings.ContainsAny(host, "*%") {
		return bad("host must be a name or an IP address, without wildcards or zones")
	}
	if strings.HasSuffix(u.Host, ":") {
		return bad("empty port")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("port must be a number from 1 to 65535")
		}
		if (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
			return bad("browsers omit the default port; leave it out")
		}
	}
	return nil
}

// Handler returns middleware that checks every request before next sees it.
// GET, HEAD and OPTIONS are never checked: they must never change state.
// It also makes Token, TemplateField and Rotate work for the requests it serves.
func (p *Protector) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{Context: r.Context(), p: p, w: w}
		r = r.WithContext(st)
		if detail, err := p.check(st, r); err != nil {
			p.log.LogAttrs(r.Context(), slog.LevelWarn, "csrf: request rejected",
				slog.String("reason", err.Error()),
				slog.String("detail", detail),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")),
				slog.String("origin", r.Header.Get("Origin")),
			)
			st.reason = err
			p.deny.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Protect validates opts and returns the middleware of New(opts).Handler.
func Protect(opts *Options) (func(http.Handler) http.Handler, error) {
	p, err := New(opts)
	if err != nil {
		return nil, err
	}
	return p.Handler, nil
}

// Check applies both lines of defence to r without answering it, for callers
// that build their own middleware. It returns nil or one of ErrCrossOrigin,
// ErrTokenMissing and ErrTokenInvalid.
func (p *Protector) Check(r *http.Request) error {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	if st == nil || st.p != p {
		st = &requestState{Context: r.Context(), p: p}
	}
	_, err := p.check(st, r)
	return err
}

func safeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

// check returns the reason to reject r (or nil) and a detail for the log.
func (p *Protector) check(st *requestState, r *http.Request) (detail string, err error) {
	if safeMethod(r.Method) {
		// Safe methods are never checked, as in http.CrossOriginProtection:
		// a GET must not change state, and a token check on navigations
		// would break links from other sites.
		return "", nil
	}
	if p.bypass != nil {
		if h, _ := p.bypass.Handler(r); h == bypassed {
			return "", nil
		}
	}
	if cerr := p.cop.Check(r); cerr != nil {
		return cerr.Error(), ErrCrossOrigin
	}
	tok := ""
	if v := r.Header[p.header]; len(v) > 0 {
		tok = v[0]
	} else if formBody(r) {
		// PostFormValue reads only the body, never the URL query: a token in a
		// URL would leak through logs and the Referer header.
		tok = r.PostFormValue(p.field)
	}
	if tok == "" {
		return "", ErrTokenMissing
	}
	cur, prev, lerr := st.load(r)
	if lerr != nil {
		return "secret store: " + lerr.Error(), ErrTokenInvalid
	}
	if cur == nil && prev == nil {
		return "no secret for this session", ErrTokenInvalid
	}
	if !validToken(tok, cur, prev) {
		return "token does not match the session's secret", ErrTokenInvalid
	}
	return "", nil
}

// formBody reports whether r's body is a form that may carry the token field.
func formBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data")
}

func forbidden(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "Forbidden", http.StatusForbidden)
}

// FailureReason returns why the middleware rejected r, for use inside a
// DenyHandler: ErrCrossOrigin, ErrTokenMissing or ErrTokenInvalid. It returns
// nil for a request that was not rejected.
func FailureReason(r *http.Request) error {
	if st, _ := r.Context().Value(stateKey{}).(*requestState); st != nil {
		return st.reason
	}
	return nil
}

// stateKey is the context key of the per-request state.
type stateKey struct{}

// requestState is the middleware's per-request state. It is itself the
// request's context (it embeds the parent), which saves an allocation per
// request compared with context.WithValue plus a separate struct.
type requestState struct {
	context.Context
	p      *Protector
	w      http.ResponseWriter
	reason error

	mu sync.Mutex // serialises Token, Rotate and their saves
	// saved is the secret this request saved through the SecretStore, for
	// CookieStore: its LoadSecret reads the request's cookie, which cannot
	// show a secret set on the response.
	saved atomic.Pointer[[]byte]
}

func (st *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return st
	}
	return st.Context.Value(key)
}

// load returns the secrets of r's session. It asks the store every time
// rather than keeping the first answer: the session layer may replace or
// drop the secret during the request (Keycard does at Login, Renew and
// SetRememberMe), and a token rendered after that must use what the
// session will keep, or it is dead on arrival.
func (st *requestState) load(r *http.Request) (cur, prev []byte, err error) {
	cur, prev, err = st.p.secrets.LoadSecret(r)
	if len(cur) != SecretLen {
		cur = nil
	}
	if len(prev) != SecretLen {
		prev = nil
	}
	return cur, prev, err
}

// saveLocked makes secret the session's secret. st.mu is held.
func (st *requestState) saveLocked(r *http.Request, secret []byte) error {
	if st.w == nil {
		return errors.New("csrf: cannot save a secret outside the middleware")
	}
	if err := st.p.secrets.SaveSecret(st.w, r, secret); err != nil {
		return err
	}
	st.saved.Store(&secret)
	return nil
}

// errNoMiddleware is returned when Token or Rotate runs on a request that did
// not pass through a Protector.
var errNoMiddleware = errors.New("csrf: request did not pass through the csrf middleware")

// Token returns a fresh masked token for the session of r, for a form field or
// a header of a script. Each call returns a different string (a new one-time
// pad), and every one stays valid until the session's secret is rotated.
// When the session has no secret yet (an anonymous visitor about to log in),
// Token creates one through the SecretStore, which may set a cookie: call Token
// (or TemplateField) before the response body is written, for example while
// building the template's data. Token also sets "Cache-Control: no-store",
// because a page holding a token must never be served from a shared cache.
//
// Token returns "" (and logs why) when r did not pass through the middleware or
// the store fails; a form carrying "" is then rejected, never accepted.
func Token(r *http.Request) string {
	tok, err := TokenErr(r)
	if err != nil {
		log := slog.Default()
		if st, _ := r.Context().Value(stateKey{}).(*requestState); st != nil {
			log = st.p.log
		}
		log.LogAttrs(r.Context(), slog.LevelError, "csrf: no token for the page",
			slog.String("error", err.Error()), slog.String("path", r.URL.Path))
		return ""
	}
	return tok
}

// TokenErr is Token with the error returned instead of logged.
func TokenErr(r *http.Request) (string, error) {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	if st == nil {
		return "", errNoMiddleware
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, _, err := st.load(r)
	if err != nil {
		return "", err
	}
	if cur == nil {
		cur = NewSecret()
		if err := st.saveLocked(r, cur); err != nil {
			return "", err
		}
	}
	if st.w != nil {
		st.w.Header().Set("Cache-Control", "no-store")
	}
	return maskToken(cur), nil
}

// TemplateField returns a hidden form input carrying Token(r), named after
// Options.FieldName, for html/template:
//
//	<form method="post">{{.CSRFField}} ...</form>
func TemplateField(r *http.Request) template.HTML {
	field := "csrf_token"
	if st, _ := r.Context().Value(stateKey{}).(*requestState); st != nil {
		field = st.p.field
	}
	// The token is base64url and the field name comes from the configuration,
	// but both are escaped anyway.
	return template.HTML(`<input type="hidden" name="` + template.HTMLEscapeString(field) +
		`" value="` + template.HTMLEscapeString(Token(r)) + `">`)
}

// Rotate replaces the secret of r's session with a fresh one, so that every
// token issued before stops working. Call it at login, at re-authentication
// and on any privilege change when the SecretStore does not rotate by itself
// (CookieStore does not; Keycard's session store does). Tokens obtained from
// Token(r) after Rotate use the new secret. Like Token, call it before the
// response body is written.
func Rotate(r *http.Request) error {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	if st == nil {
		return errNoMiddleware
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.saveLocked(r, NewSecret())
}
