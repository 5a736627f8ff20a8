package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/keycard-go/keycard"
)

// Gateway mode: reverse proxies (nginx auth_request, Caddy forward_auth,
// Traefik forwardAuth, Envoy ext_authz) ask /v1/auth about every request
// of an application that cannot import Keycard, and pass the answer on.
// See docs/gateway.md.

var (
	errBadOriginalURI = &apiError{http.StatusBadRequest, "invalid_original_uri", "the original request URI from the proxy is not a valid request target"}
	errBadRule        = &apiError{http.StatusBadRequest, "invalid_rule", `bad gateway rule: max_age is a Go duration such as "10m", kind is "browser" or "api", redirect is "302"`}
	errStepUp         = &apiError{http.StatusForbidden, "reauth_required", "this page requires a recent login: log in again"}
)

// The headers /v1/auth answers a live session with. Proxies copy them to the
// upstream and must strip client-supplied copies (docs/gateway.md).
const (
	headerSubject   = "X-Keycard-Subject"
	headerSessionID = "X-Keycard-Session-Id"
	headerKind      = "X-Keycard-Kind"
	headerJWT       = "X-Keycard-Jwt"
)

// maxOriginalURI bounds the original request target a proxy may report.
const maxOriginalURI = 8 << 10

// original is what a trusted proxy says about the request it asks about.
type original struct {
	method string // "" when the proxy did not say
	uri    string // path and query, "" when the proxy did not say
	host   string
	proto  string // "http" or "https"
}

// originalRequest reads the X-Original-* (nginx) or X-Forwarded-* (Caddy,
// Traefik) headers, believed only from trusted proxies: from anyone else
// they are ignored, and the request is taken as it is. A URI that does not
// parse as a request target is refused (fail closed): it must never get a
// 200 through a misreading.
func (s *Server) originalRequest(r *http.Request) (original, error) {
	o := original{method: r.Method, host: r.Host, proto: "http"}
	if r.TLS != nil {
		o.proto = "https"
	}
	if !s.guard.FromTrustedProxy(r) {
		return o, nil
	}
	h := r.Header
	pick := func(names ...string) string {
		for _, n := range names {
			if v := h.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	if m := pick("X-Original-Method", "X-Forwarded-Method"); m != "" {
		if strings.ContainsFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) || len(m) > 16 {
			return o, errBadOriginalURI
		}
		o.method = m
	}
	o.uri = pick("X-Original-URI", "X-Forwarded-Uri")
	if o.uri != "" {
		if err := checkRequestURI(o.uri); err != nil {
			return o, err
		}
	}
	if host := h.Get("X-Forwarded-Host"); host != "" {
		o.host = host
	}
	switch p := h.Get("X-Forwarded-Proto"); p {
	case "http", "https":
		o.proto = p
	case "":
	default:
		return o, errBadOriginalURI
	}
	return o, nil
}

// checkRequestURI accepts an origin-form request target ("/path?query"):
// no control characters or spaces, no backslash, not "//host", at most
// maxOriginalURI bytes, and parseable.
func checkRequestURI(uri string) error {
	if len(uri) > maxOriginalURI || !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") ||
		strings.ContainsAny(uri, "\\ ") || strings.ContainsFunc(uri, unicode.IsControl) {
		return errBadOriginalURI
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return errBadOriginalURI
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return errBadOriginalURI
	}
	return nil
}

// gatewayRules are a route's extra requirements, from the trusted proxy's
// X-Keycard-Max-Age, X-Keycard-Require-Kind, X-Keycard-Jwt-Audience and
// X-Keycard-Redirect headers or from /v1/auth's query
// (?max_age=10m&kind=browser&jwt=audience&redirect=302).
type gatewayRules struct {
	maxAge   time.Duration // 0: no step-up
	kind     keycard.Kind  // 0: either
	audience string        // "": no identity JWT
	redirect bool          // a browser sent to the login page gets a 302, not a 401 with Location
}

func (s *Server) rules(r *http.Request) (gatewayRules, error) {
	q := r.URL.Query()
	// A trusted proxy's header wins over the query: some proxies append
	// the client's own query to the auth URL (Caddy's forward_auth keeps
	// it when its uri has none), so a query rule may come from the client,
	// and a client must not undo the route's rule with ?kind=api or
	// ?max_age=1000h. A query rule where the proxy sets none can only make
	// the client's own request stricter.
	trusted := s.guard.FromTrustedProxy(r)
	get := func(param, header string) string {
		if trusted {
			if v := r.Header.Get(header); v != "" {
				return v
			}
		}
		return q.Get(param)
	}
	var g gatewayRules
	if v := get("max_age", "X-Keycard-Max-Age"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return g, errBadRule
		}
		g.maxAge = d
	}
	switch get("kind", "X-Keycard-Require-Kind") {
	case "":
	case "browser":
		g.kind = keycard.KindBrowser
	case "api":
		g.kind = keycard.KindAPI
	default:
		return g, errBadRule
	}
	switch get("redirect", "X-Keycard-Redirect") {
	case "":
	case "302":
		g.redirect = true
	default:
		return g, errBadRule
	}
	g.audience = get("jwt", "X-Keycard-Jwt-Audience")
	if len(g.audience) > 512 {
		return g, errBadRule
	}
	return g, nil
}

// auth is /v1/auth, any method: 200 with the identity headers for a live
// session that meets the route's rules; 401 without one (a browser gets a
// Location to the login page with a checked return URL); 403 when the
// session must log in again (client changed, or the route wants a more
// recent login) or is of the wrong kind, or when the original request is
// a browser's cross-origin write.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) error {
	orig, err := s.originalRequest(r)
	if err != nil {
		return err
	}
	rules, err := s.rules(r)
	if err != nil {
		return err
	}
	if crossOriginWrite(r, orig) {
		return errCrossOrigin
	}
	sess, err := s.current(r)
	if err != nil {
		if status, _, _ := errorStatus(err); status == http.StatusUnauthorized || err == errReauth {
			return s.toLogin(w, r, orig, rules, err)
		}
		return err
	}
	info, _ := sess.Info()
	if rules.kind != 0 && info.Kind != rules.kind {
		return keycard.ErrWrongKind
	}
	if rules.maxAge > 0 && s.now().Sub(info.AuthenticatedAt) > rules.maxAge {
		return s.toLogin(w, r, orig, rules, errStepUp)
	}
	h := w.Header()
	h.Set(headerSubject, info.Subject)
	h.Set(headerSessionID, info.ID)
	h.Set(headerKind, info.Kind.String())
	if rules.audience != "" {
		token, _, err := s.issuer.MintFromSession(sess, rules.audience)
		if err != nil {
			return err
		}
		h.Set(headerJWT, token)
	}
	// No body: every proxy drops it, and the check should cost as little
	// as a forward-auth hop allows.
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// toLogin denies r with err, sending a browser to the login page: by a
// Location on the 401 or 403 (nginx and Caddy turn it into a redirect),
// or, with the redirect rule, by a 302 itself (Traefik and Envoy pass the
// answer to the browser as it is, and browsers follow no Location of a
// 401).
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, o original, rules gatewayRules, err error) error {
	if !s.loginRedirect(w, r, o) || !rules.redirect {
		return err
	}
	w.WriteHeader(http.StatusFound)
	return nil
}

// crossOriginWrite reports whether the original request is a browser's
// state-changing request from another origin (the check of
// http.CrossOriginProtection, applied to the request the proxy asks
// about), so that gateway mode protects the upstream from CSRF as well.
func crossOriginWrite(r *http.Request, o original) bool {
	switch o.method {
	case "GET", "HEAD", "OPTIONS":
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false // not a browser, or an old one: nothing to compare
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host != o.host
}

// loginRedirect sets, for a browser, the Location of the login page with
// the original URL to return to, and reports whether it did.
func (s *Server) loginRedirect(w http.ResponseWriter, r *http.Request, o original) bool {
	if s.opts.GatewayLoginURL == "" || !prefersHTML(r) {
		return false
	}
	target := s.opts.GatewayLoginURL
	if o.uri != "" {
		ret := o.uri
		login, err := url.Parse(target)
		if err == nil && login.Host != "" && login.Host != o.host {
			// The login page is on another host: return to an absolute
			// URL, which it accepts only for an allowed origin.
			ret = o.proto + "://" + o.host + o.uri
		}
		if ret, ok := s.safeReturnTo(ret); ok {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "return_to=" + url.QueryEscape(ret)
		}
	}
	w.Header().Set("Location", target)
	return true
}

// prefersHTML reports whether r comes from a browser's navigation: no
// Authorization header, and an Accept header that names text/html.
func prefersHTML(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// safeReturnTo checks a return URL: a path on this host ("/x", never
// "//host" or "/\host", which browsers read as another host), or an
// absolute http(s) URL of an allowed origin. It returns the URL to use.
func (s *Server) safeReturnTo(raw string) (string, bool) {
	if raw == "" || len(raw) > maxOriginalURI || strings.ContainsFunc(raw, unicode.IsControl) || strings.Contains(raw, "\\") {
		return "", false
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") || checkRequestURI(raw) != nil {
			return "", false
		}
		return raw, true
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	origin := u.Scheme + "://" + u.Host
	for _, allowed := range s.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(allowed, "/"), origin) {
			return u.String(), true
		}
	}
	return "", false
}
