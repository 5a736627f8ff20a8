package guard

import (
	"net/http"
	"net/netip"
	"strings"
)

// ProxyHeader names the header that the trusted proxies write the client
// address into. Exactly one is honoured: if both were read, a client could
// put a forged address in the one the proxies do not touch.
type ProxyHeader uint8

const (
	// XForwardedFor is the de facto "X-Forwarded-For: client, proxy1, proxy2"
	// header. It is the default.
	XForwardedFor ProxyHeader = iota
	// Forwarded is the RFC 7239 "Forwarded: for=client;proto=https, for=proxy1"
	// header.
	Forwarded
)

// maxHops bounds how many trusted hops are walked through. A real chain has a
// handful; more than this means a misconfiguration (a trusted range that
// includes clients), and the walk fails closed to RemoteAddr.
const maxHops = 64

// ClientIP returns the address of the client that sent r.
//
// Without trusted proxies, or when the connection does not come from one, it
// is the address of RemoteAddr, whatever the headers say (fail closed): any
// client can write X-Forwarded-For or Forwarded, and believing it would let an
// attacker pick its own rate-limit bucket and fingerprint network. RFC 7239
// section 8.1 warns that the header cannot be relied upon because every node
// on the way, the client included, can write it
// (https://www.rfc-editor.org/rfc/rfc7239#section-8.1).
//
// When RemoteAddr is a trusted proxy, the configured header is walked from
// right to left, skipping trusted proxies; the first untrusted address is the
// client. Each proxy appends the address it received the request from, so the
// rightmost entries are the only ones our own proxies vouch for; entries left
// of the first untrusted one were written by the client and are ignored. This
// is the "rightmost untrusted" rule of
// https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/X-Forwarded-For#security_and_privacy_concerns
// (the leftmost entry is the easiest to forge).
//
// The result is an unmapped address without a zone, or the zero Addr when
// RemoteAddr is not an address (a Unix socket or a hand-made request).
func (g *Guard) ClientIP(r *http.Request) netip.Addr {
	remote := parseRemoteAddr(r.RemoteAddr)
	if len(g.proxies) == 0 || !g.trusted(remote) {
		return remote
	}
	if g.header == Forwarded {
		return g.walk(r.Header["Forwarded"], remote, lastForwardedFor)
	}
	return g.walk(r.Header["X-Forwarded-For"], remote, lastXFF)
}

// FromTrustedProxy reports whether r's connection comes from one of the
// trusted proxies, so that the headers they write about the original request
// (X-Forwarded-*, X-Original-*) may be believed. Without trusted proxies it
// is always false.
func (g *Guard) FromTrustedProxy(r *http.Request) bool {
	return g.trusted(parseRemoteAddr(r.RemoteAddr))
}

// parseRemoteAddr parses http.Request.RemoteAddr ("ip:port", or a bare IP in
// hand-made requests) into an unmapped, zone-less address, or the zero Addr.
func parseRemoteAddr(s string) netip.Addr {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		a = ap.Addr()
	} else if ip, err := netip.ParseAddr(s); err == nil {
		a = ip
	} else {
		return netip.Addr{}
	}
	// A zone (fe80::1%eth0) names a local interface; it says nothing about
	// the client and would make one client look like several.
	return a.Unmap().WithZone("")
}

func (g *Guard) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range g.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lastFunc splits the last hop off a header line: it returns the node text of
// the last element (ok false when the element is malformed), the rest of the
// line before it, and whether there was anything before it.
type lastFunc func(line string) (node string, ok bool, rest string, more bool)

// walk goes through the hops of the header lines from right to left.
//
// Fail closed: a malformed hop, or more than maxHops trusted hops, yields
// remote (a trusted proxy). Only a trusted proxy can have written the hops we
// look at (we stop at the first untrusted one, so anything a client wrote
// further left is never parsed), so a malformed one means a proxy we cannot
// understand; guessing past it could let a client choose its address, while
// falling back to the proxy only makes the clients behind it share one
// network's limits. RFC 7239's "unknown" and obfuscated identifiers
// (https://www.rfc-editor.org/rfc/rfc7239#section-6) name no address and are
// treated the same way. OWASP's input validation advice is to reject what
// does not match the expected form rather than repair it
// (https://cheatsheetseries.owasp.org/cheatsheets/Input_Validation_Cheat_Sheet.html).
func (g *Guard) walk(lines []string, remote netip.Addr, last lastFunc) netip.Addr {
	client := remote
	hops := 0
	for i := len(lines) - 1; i >= 0; i-- {
		rest, more := lines[i], true
		for more {
			var node string
			var ok bool
			node, ok, rest, more = last(rest)
			if !ok {
				return remote
			}
			a, ok := parseNode(node)
			if !ok {
				return remote
			}
			if !g.trusted(a) {
				return a
			}
			if hops++; hops > maxHops {
				return remote
			}
			client = a
		}
	}
	// Every hop is a trusted proxy: the request began inside the trusted
	// network, and its leftmost hop is the best we know.
	return client
}

// lastXFF splits the last comma-separated element off an X-Forwarded-For line.
func lastXFF(line string) (node string, ok bool, rest string, more bool) {
	i := strings.LastIndexByte(line, ',')
	node = trimOWS(line[i+1:])
	if i >= 0 {
		rest, more = line[:i], true
	}
	return node, node != "", rest, more
}

// lastForwardedFor splits the last forwarded-element off a Forwarded line
// (RFC 7239 section 4) and returns the value of its "for" parameter.
// Commas inside quoted strings do not split elements. An element without a
// "for" parameter, with two, or with a broken quoted string is malformed.
func lastForwardedFor(line string) (node string, ok bool, rest string, more bool) {
	elem := line
	if i := indexUnquoted(line, ',', true); i >= 0 {
		elem, rest, more = line[i+1:], line[:i], true
	}
	found := false
	for elem != "" {
		pair := elem
		if i := indexUnquoted(elem, ';', false); i >= 0 {
			pair, elem = elem[:i], elem[i+1:]
		} else {
			elem = ""
		}
		pair = trimOWS(pair)
		name, v, hasEq := strings.Cut(pair, "=")
		if !hasEq {
			return "", false, rest, more
		}
		if !strings.EqualFold(trimOWS(name), "for") {
			continue
		}
		if found {
			return "", false, rest, more // "for" twice in one element
		}
		found = true
		v = trimOWS(v)
		if strings.HasPrefix(v, `"`) {
			// A quoted-string; the nodes we accept never need escapes.
			if len(v) < 2 || v[len(v)-1] != '"' || strings.ContainsAny(v[1:len(v)-1], "\"\\") {
				return "", false, rest, more
			}
			v = v[1 : len(v)-1]
		}
		node = v
	}
	return node, found && node != "", rest, more
}

// indexUnquoted returns the index of the first (or, fromRight, the last) sep
// in s that is outside double quotes, or -1. Quotes are counted from the end
// the scan starts at, so that a stray quote written by a client at the left
// of a header never hides the elements that proxies appended at the right.
func indexUnquoted(s string, sep byte, fromRight bool) int {
	inQuote := false
	for k := range len(s) {
		i := k
		if fromRight {
			i = len(s) - 1 - k
		}
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case sep:
			if !inQuote {
				return i
			}
		}
	}
	return -1
}

// parseNode parses one hop: "192.0.2.1", "192.0.2.1:8080", "2001:db8::1",
// "[2001:db8::1]" or "[2001:db8::1]:8080". Ports are allowed (some proxies
// add them) and dropped. RFC 7239's "unknown" and obfuscated "_name"
// identifiers, zones and anything else are malformed.
func parseNode(s string) (netip.Addr, bool) {
	var a netip.Addr
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validPort(s[end+1:]) {
			return netip.Addr{}, false
		}
		ip, err := netip.ParseAddr(s[1:end])
		if err != nil || !ip.Is6() {
			return netip.Addr{}, false
		}
		a = ip
	} else if ip, err := netip.ParseAddr(s); err == nil {
		a = ip
	} else if i := strings.LastIndexByte(s, ':'); i > 0 && validPort(s[i:]) {
		ip, err := netip.ParseAddr(s[:i])
		if err != nil || !ip.Is4() {
			return netip.Addr{}, false
		}
		a = ip
	} else {
		return netip.Addr{}, false
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validPort reports whether s is empty or ":" followed by 1 to 5 digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trimOWS trims the optional white space (space and tab) of RFC 9110.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// Network returns the client network of ip: its /24 for IPv4 (IPv4-mapped
// IPv6 included) and its /48 for IPv6, the usual size of one customer's
// allocation. It returns the zero Prefix for the zero Addr.
func Network(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}
