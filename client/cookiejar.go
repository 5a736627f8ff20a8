// CookieJar: an RFC 6265 cookie jar that persists to a file and can list
// its cookies, for CLIs that talk to cookie-session sites.

package client

import (
	"cmp"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Limits of a CookieJar (RFC 6265 §6.1 asks for at least these, and the
// jar stores no more, so a hostile site cannot grow the file without bound).
const (
	// MaxCookieSize is the largest name plus value, in bytes, a jar keeps;
	// a larger cookie is ignored.
	MaxCookieSize = 4096
	// DefaultMaxCookiesPerDomain is JarOptions.MaxCookiesPerDomain's default.
	DefaultMaxCookiesPerDomain = 50
	// DefaultMaxCookies is JarOptions.MaxCookies's default.
	DefaultMaxCookies = 3000
)

// PublicSuffixList tells a CookieJar which domains are public suffixes
// (like "com" or "co.uk"), under which no site may set a cookie for its
// neighbours. It is net/http/cookiejar's interface: PublicSuffix returns
// the public suffix of domain, String names the list's version.
// Implementations must be safe for concurrent use.
type PublicSuffixList interface {
	PublicSuffix(domain string) string
	String() string
}

// JarOptions configures OpenCookieJar. A nil *JarOptions means all
// defaults; the zero value of every field is its secure default.
type JarOptions struct {
	// PersistSessionCookies makes Save write session cookies (those with
	// neither Expires nor Max-Age) too. Default false: they live only as
	// long as the CookieJar value, as RFC 6265 §5.3 means them to. Not
	// secure where the file outlives the user's intent, since a session
	// cookie often is a login.
	PersistSessionCookies bool
	// PublicSuffixList decides which domains are public suffixes. Default
	// nil: golang.org/x/net/publicsuffix.List, compiled into the program.
	PublicSuffixList PublicSuffixList
	// MaxCookiesPerDomain is how many cookies the jar keeps for one
	// registrable domain (eTLD+1) before evicting the least recently used.
	// Default 0: DefaultMaxCookiesPerDomain.
	MaxCookiesPerDomain int
	// MaxCookies is how many cookies the jar keeps in all before evicting
	// the least recently used. Default 0: DefaultMaxCookies.
	MaxCookies int
}

// CookieJar is an http.CookieJar with the semantics of RFC 6265 (domain
// and path matching, host-only cookies, Secure, HttpOnly, Expires and
// Max-Age, the public suffix list, §5.4 ordering) that, unlike
// net/http/cookiejar, lists its cookies (All) and persists them (Save) to
// one file shared safely by several processes. SameSite is parsed and
// kept, not enforced: a CLI has no "site" of its own to compare with.
//
// Used as http.Client.Jar, the jar sees the cookies net/http parsed and
// re-parses each one's raw Set-Cookie line by RFC 6265 §5.2; cookies that
// net/http drops before the jar (invalid names or values) are lost, and
// net/http re-encodes values on the way out. Transport avoids both.
//
// A CookieJar is safe for concurrent use. Its zero value is not usable:
// call OpenCookieJar.
type CookieJar struct {
	path    string
	persist bool
	psl     PublicSuffixList
	perSite int
	max     int
	now     func() time.Time // injected by tests

	mu      sync.Mutex
	entries map[entryKey]*entry
	// deleted holds, until the next Save, when this process deleted each
	// cookie, so that a deletion wins over an older entry in the file.
	deleted map[entryKey]time.Time
	// synced holds each cookie's update time as it was in the file at the
	// last load or save, so that Save can tell a cookie another process
	// deleted (in synced, unchanged here, gone from the file) from one set
	// here since.
	synced map[entryKey]time.Time
	seq    uint64
}

// entryKey identifies a stored cookie (RFC 6265 §5.3 step 11).
type entryKey struct{ Domain, Path, Name string }

// entry is one stored cookie (RFC 6265 §5.3), as kept in memory and on disk.
type entry struct {
	Name       string    `json:"name"`
	Value      string    `json:"value"`
	Domain     string    `json:"domain"`
	Path       string    `json:"path"`
	HostOnly   bool      `json:"host_only,omitempty"`
	Secure     bool      `json:"secure,omitempty"`
	HTTPOnly   bool      `json:"http_only,omitempty"`
	SameSite   string    `json:"same_site,omitempty"`
	Expires    time.Time `json:"expires,omitzero"` // zero: a session cookie
	Created    time.Time `json:"created"`
	LastAccess time.Time `json:"last_access"`
	Updated    time.Time `json:"updated"`

	seq uint64 // creation order among equal Created times
}

func (e *entry) key() entryKey { return entryKey{e.Domain, e.Path, e.Name} }

// persistent reports whether e had Expires or Max-Age.
func (e *entry) persistent() bool { return !e.Expires.IsZero() }

// expired reports whether e is past its expiry at now.
func (e *entry) expired(now time.Time) bool {
	return e.persistent() && !e.Expires.After(now)
}

// OpenCookieJar returns a CookieJar that loads from, and saves to, the file
// at path; a missing file is an empty jar (Save creates it). A file that is
// a symlink, or that its group or others can read or write, is refused
// with an error saying how to fix it, the way ssh refuses a loose key. An
// empty path gives a jar that lives only in memory and whose Save fails.
func OpenCookieJar(path string, opts *JarOptions) (*CookieJar, error) {
	if opts == nil {
		opts = &JarOptions{}
	}
	if opts.MaxCookiesPerDomain < 0 || opts.MaxCookies < 0 {
		return nil, errors.New("client: cookie jar limits must not be negative")
	}
	j := &CookieJar{
		path:    path,
		persist: opts.PersistSessionCookies,
		psl:     opts.PublicSuffixList,
		perSite: opts.MaxCookiesPerDomain,
		max:     opts.MaxCookies,
		now:     time.Now,
		entries: map[entryKey]*entry{},
		deleted: map[entryKey]time.Time{},
		synced:  map[entryKey]time.Time{},
	}
	if j.psl == nil {
		j.psl = publicsuffix.List
	}
	if j.perSite == 0 {
		j.perSite = DefaultMaxCookiesPerDomain
	}
	if j.max == 0 {
		j.max = DefaultMaxCookies
	}
	if path == "" {
		return j, nil
	}
	stored, err := readJarFile(path)
	if err != nil {
		return nil, err
	}
	now := j.now()
	for _, e := range stored {
		if e.expired(now) || (!e.persistent() && !j.persist) {
			continue
		}
		j.add(e)
		j.synced[e.key()] = e.Updated
	}
	return j, nil
}

// add stores e with the next sequence number; j.mu is held or j is new.
func (j *CookieJar) add(e *entry) {
	j.seq++
	e.seq = j.seq
	j.entries[e.key()] = e
}

// SetCookies implements http.CookieJar: it stores the cookies of a response
// to u by RFC 6265 §5.3. A cookie carrying its raw Set-Cookie line (as
// net/http's parser leaves it in Raw) is parsed again from that line by
// §5.2; one built by hand is taken from its fields.
func (j *CookieJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	parsed := make([]setCookie, 0, len(cookies))
	for _, c := range cookies {
		if c.Raw != "" {
			if sc, ok := parseSetCookie(c.Raw); ok {
				parsed = append(parsed, sc)
			}
			continue
		}
		parsed = append(parsed, fromHTTPCookie(c))
	}
	j.store(u, parsed)
}

// SetCookieLines stores the cookies of the Set-Cookie header lines of a
// response to u, each parsed by RFC 6265 §5.2 and stored by §5.3. It is
// what Transport uses; call it where a response's headers are at hand.
func (j *CookieJar) SetCookieLines(u *url.URL, lines []string) {
	parsed := make([]setCookie, 0, len(lines))
	for _, line := range lines {
		if sc, ok := parseSetCookie(line); ok {
			parsed = append(parsed, sc)
		}
	}
	j.store(u, parsed)
}

// fromHTTPCookie takes the attributes of a cookie built in code.
func fromHTTPCookie(c *http.Cookie) setCookie {
	sc := setCookie{
		name:     c.Name,
		value:    c.Value,
		expires:  c.Expires,
		domain:   strings.ToLower(strings.TrimPrefix(c.Domain, ".")),
		secure:   c.Secure,
		httpOnly: c.HttpOnly,
	}
	if c.Quoted {
		sc.value = `"` + c.Value + `"`
	}
	if strings.HasPrefix(c.Path, "/") {
		sc.path = c.Path
	}
	switch {
	case c.MaxAge > 0:
		sc.maxAge, sc.hasMaxAge = int64(c.MaxAge), true
	case c.MaxAge < 0: // net/http's "Max-Age: 0": delete now
		sc.hasMaxAge = true
	}
	switch c.SameSite {
	case http.SameSiteStrictMode:
		sc.sameSite = "Strict"
	case http.SameSiteLaxMode:
		sc.sameSite = "Lax"
	case http.SameSiteNoneMode:
		sc.sameSite = "None"
	}
	return sc
}

// canonicalHost is RFC 6265 §5.1.2: the host of u lowercased and in its
// A-label (punycode) form, without a port; an IP address stays as it is.
func canonicalHost(u *url.URL) (host string, isIP bool, err error) {
	host = strings.ToLower(u.Hostname())
	if host == "" {
		return "", false, errors.New("client: cookie jar: URL has no host")
	}
	if net.ParseIP(host) != nil {
		return host, true, nil
	}
	// A fully qualified name names the same host as without its dot (as
	// net/http/cookiejar and browsers treat it).
	host = strings.TrimSuffix(host, ".")
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", false, err
	}
	return ascii, false, nil
}

// domainMatch is RFC 6265 §5.1.3: host equals domain, or is a name (not
// an IP address) ending in "." + domain.
func domainMatch(host string, isIP bool, domain string) bool {
	if host == domain {
		return true
	}
	return !isIP && len(host) > len(domain) && strings.HasSuffix(host, domain) &&
		host[len(host)-len(domain)-1] == '.'
}

// pathMatch is RFC 6265 §5.1.4's path-match.
func pathMatch(requestPath, cookiePath string) bool {
	if requestPath == cookiePath {
		return true
	}
	if !strings.HasPrefix(requestPath, cookiePath) {
		return false
	}
	return strings.HasSuffix(cookiePath, "/") || requestPath[len(cookiePath)] == '/'
}

// defaultPath is RFC 6265 §5.1.4's default-path of a request path.
func defaultPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/"
	}
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

// requestPath is the path of u as sent on the wire, "/" when empty.
func requestPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// hasCTL reports whether s holds a control character other than HTAB.
// RFC 6265 §5.2 keeps them; RFC 6265bis §5.6 step 2 ignores such a cookie,
// and so does this jar, since a CR, LF or NUL passed on into a Cookie
// header could split or truncate it (fail closed).
func hasCTL(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f })
}

// store is the storage model of RFC 6265 §5.3 for the parsed cookies of
// one response to u.
func (j *CookieJar) store(u *url.URL, cookies []setCookie) {
	if len(cookies) == 0 || !isHTTPScheme(u.Scheme) {
		return
	}
	host, isIP, err := canonicalHost(u)
	if err != nil {
		return
	}
	defPath := defaultPath(requestPath(u))
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for _, sc := range cookies {
		if len(sc.name)+len(sc.value) > MaxCookieSize || hasCTL(sc.name) || hasCTL(sc.value) ||
			strings.ContainsAny(sc.name, ";=") || strings.Contains(sc.value, ";") {
			continue
		}
		e := &entry{Name: sc.name, Value: sc.value, Secure: sc.secure, HTTPOnly: sc.httpOnly,
			SameSite: sc.sameSite, Created: now, LastAccess: now, Updated: now}
		// Step 3: Max-Age wins over Expires.
		switch {
		case sc.hasMaxAge && sc.maxAge <= 0:
			e.Expires = time.Unix(0, 0).UTC() // "the earliest representable"
		case sc.hasMaxAge:
			e.Expires = now.Add(time.Duration(min(sc.maxAge, int64(maxDuration/time.Second))) * time.Second)
		case !sc.expires.IsZero():
			e.Expires = sc.expires
		}
		// Steps 4-6: the domain, the public suffix list, host-only.
		domain := sc.domain
		if domain != "" && !isIP {
			if ascii, err := idna.Lookup.ToASCII(domain); err == nil {
				domain = ascii
			} else {
				continue
			}
		}
		if domain != "" && !isIP && j.psl.PublicSuffix(domain) == domain {
			// Step 5: a public suffix may only be the host's own domain,
			// and then only host-only; anything else could set a cookie
			// for every site under it, so the cookie is ignored.
			if domain != host {
				continue
			}
			domain = ""
		}
		switch {
		case domain == "":
			e.HostOnly, e.Domain = true, host
		case !domainMatch(host, isIP, domain):
			continue
		case isIP:
			// An IP address matches only itself: host-only.
			e.HostOnly, e.Domain = true, host
		default:
			e.Domain = domain
		}
		// Step 7: the path.
		e.Path = sc.path
		if e.Path == "" {
			e.Path = defPath
		}
		// Step 11: a replacement keeps the creation time of the old one.
		k := e.key()
		if old, ok := j.entries[k]; ok {
			e.Created, e.seq = old.Created, old.seq
			delete(j.entries, k)
		}
		// A cookie that is already expired deletes (§5.3, last paragraph).
		if e.expired(now) {
			j.deleted[k] = now
			continue
		}
		delete(j.deleted, k)
		if e.seq != 0 {
			j.entries[k] = e
		} else {
			j.add(e)
		}
		j.evict(now)
	}
}

// maxDuration is the largest time.Duration.
const maxDuration = time.Duration(1<<63 - 1)

func isHTTPScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "ws", "wss":
		return true
	}
	return false
}

func isSecureScheme(s string) bool {
	s = strings.ToLower(s)
	return s == "https" || s == "wss"
}

// site is the registrable domain (eTLD+1) a cookie counts against for the
// per-domain limit, or its domain when it has none.
func (j *CookieJar) site(domain string) string {
	if net.ParseIP(domain) != nil {
		return domain
	}
	ps := j.psl.PublicSuffix(domain)
	if len(ps) >= len(domain) {
		return domain
	}
	i := strings.LastIndexByte(domain[:len(domain)-len(ps)-1], '.')
	return domain[i+1:]
}

// evict removes expired cookies, then the least recently used ones of any
// site over the per-domain limit, then the least recently used of all
// until the total limit holds (RFC 6265 §5.3, the eviction order).
// Evictions leave no deletion mark: another process's copy may come back
// at Save, which evicts again. j.mu is held.
func (j *CookieJar) evict(now time.Time) {
	for k, e := range j.entries {
		if e.expired(now) {
			delete(j.entries, k)
		}
	}
	bySite := map[string][]*entry{}
	for _, e := range j.entries {
		s := j.site(e.Domain)
		bySite[s] = append(bySite[s], e)
	}
	for _, es := range bySite {
		if len(es) <= j.perSite {
			continue
		}
		slices.SortFunc(es, byLastAccess)
		for _, e := range es[:len(es)-j.perSite] {
			delete(j.entries, e.key())
		}
	}
	if len(j.entries) <= j.max {
		return
	}
	all := make([]*entry, 0, len(j.entries))
	for _, e := range j.entries {
		all = append(all, e)
	}
	slices.SortFunc(all, byLastAccess)
	for _, e := range all[:len(all)-j.max] {
		delete(j.entries, e.key())
	}
}

// byLastAccess orders the least recently used first, the older creation
// first among equals.
func byLastAccess(a, b *entry) int {
	if c := a.LastAccess.Compare(b.LastAccess); c != 0 {
		return c
	}
	return byCreation(a, b)
}

// byCreation orders the earlier created first.
func byCreation(a, b *entry) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// bySendOrder is RFC 6265 §5.4 step 2: longer paths first, then earlier
// creation first.
func bySendOrder(a, b *entry) int {
	if len(a.Path) != len(b.Path) {
		return len(b.Path) - len(a.Path)
	}
	return byCreation(a, b)
}

// Cookies implements http.CookieJar: the cookies to send to u by RFC 6265
// §5.4, in its order, with Name and Value set (a DQUOTE-wrapped value as
// Quoted, so net/http sends it back wrapped). Secure cookies go only to
// https and wss; HttpOnly cookies go, since this is an HTTP client.
func (j *CookieJar) Cookies(u *url.URL) []*http.Cookie {
	matched := j.matching(u)
	out := make([]*http.Cookie, 0, len(matched))
	for _, e := range matched {
		c := &http.Cookie{Name: e.Name, Value: e.Value}
		if v, ok := strings.CutPrefix(e.Value, `"`); ok && len(v) > 0 && strings.HasSuffix(v, `"`) {
			c.Value, c.Quoted = v[:len(v)-1], true
		}
		out = append(out, c)
	}
	return out
}

// CookieHeader returns the Cookie header line to send to u, exactly as
// RFC 6265 §5.4 builds it from the stored names and values, or "" when no
// cookie matches.
func (j *CookieJar) CookieHeader(u *url.URL) string {
	var b strings.Builder
	for i, e := range j.matching(u) {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Name)
		b.WriteByte('=')
		b.WriteString(e.Value)
	}
	return b.String()
}

// matching returns copies of the cookies to send to u, in §5.4 order,
// and updates their last-access time.
func (j *CookieJar) matching(u *url.URL) []entry {
	if !isHTTPScheme(u.Scheme) {
		return nil
	}
	host, isIP, err := canonicalHost(u)
	if err != nil {
		return nil
	}
	secure := isSecureScheme(u.Scheme)
	path := requestPath(u)
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	var hits []*entry
	for _, e := range j.entries {
		if e.expired(now) {
			continue
		}
		if e.HostOnly && host != e.Domain || !e.HostOnly && !domainMatch(host, isIP, e.Domain) {
			continue
		}
		if !pathMatch(path, e.Path) || e.Secure && !secure {
			continue
		}
		hits = append(hits, e)
	}
	slices.SortFunc(hits, bySendOrder)
	out := make([]entry, len(hits))
	for i, e := range hits {
		e.LastAccess = now
		out[i] = *e
	}
	return out
}

// Cookie is one cookie a CookieJar holds, as All lists it.
type Cookie struct {
	Name, Value string
	// Domain is the cookie's domain; HostOnly says it is sent to that
	// exact host only, not to its subdomains.
	Domain   string
	HostOnly bool
	Path     string
	Secure   bool
	HTTPOnly bool
	// SameSite is "Strict", "Lax", "None", or "" when not given.
	SameSite string
	// Expires is when the cookie expires; the zero time for a session
	// cookie.
	Expires time.Time
	// Created is when the cookie was first set (a replacement keeps it);
	// Updated is when it was last set.
	Created, Updated time.Time
}

// All returns every unexpired cookie the jar holds, ordered by domain,
// then as §5.4 would send them. The values are secrets: do not log them.
func (j *CookieJar) All() []Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	es := make([]*entry, 0, len(j.entries))
	for _, e := range j.entries {
		if !e.expired(now) {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(a, b *entry) int {
		if c := strings.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return bySendOrder(a, b)
	})
	out := make([]Cookie, len(es))
	for i, e := range es {
		out[i] = Cookie{Name: e.Name, Value: e.Value, Domain: e.Domain, HostOnly: e.HostOnly,
			Path: e.Path, Secure: e.Secure, HTTPOnly: e.HTTPOnly, SameSite: e.SameSite,
			Expires: e.Expires, Created: e.Created, Updated: e.Updated}
	}
	return out
}

// Remove deletes the cookie of that domain, path and name, if held, as an
// expired Set-Cookie would; the deletion reaches the file at the next Save.
func (j *CookieJar) Remove(domain, path, name string) {
	k := entryKey{strings.ToLower(domain), path, name}
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.entries, k)
	j.deleted[k] = j.now()
}

// Clear deletes every cookie; the deletions reach the file at the next Save.
func (j *CookieJar) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for k := range j.entries {
		j.deleted[k] = now
	}
	for k := range j.synced {
		j.deleted[k] = now
	}
	clear(j.entries)
}
