package guard

import (
	"net/netip"
	"strings"
	"testing"
)

// headerAddrs returns every address that appears in s: each maximal run of
// characters that can belong to an address (with an optional port) is parsed
// on its own. It is deliberately not the parser under test.
func headerAddrs(s string) map[netip.Addr]bool {
	set := map[netip.Addr]bool{}
	isAddrChar := func(c rune) bool {
		return c == '.' || c == ':' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
	}
	for _, run := range strings.FieldsFunc(s, func(c rune) bool { return !isAddrChar(c) }) {
		if a, err := netip.ParseAddr(run); err == nil {
			set[a.Unmap()] = true
		} else if ap, err := netip.ParseAddrPort(run); err == nil {
			set[ap.Addr().Unmap()] = true
		}
		// A run like "x:1.2.3.4" is also split at its last colon.
		if i := strings.LastIndexByte(run, ':'); i >= 0 {
			if a, err := netip.ParseAddr(run[i+1:]); err == nil {
				set[a.Unmap()] = true
			}
		}
	}
	return set
}

// FuzzClientIP checks the invariants of ClientIP for any RemoteAddr and
// proxy headers:
//   - the result is RemoteAddr's address or an address that appears in the
//     honoured header, unmapped and without a zone;
//   - with no trusted proxy, or an untrusted RemoteAddr, it is RemoteAddr's;
//   - for a well-formed X-Forwarded-For (every hop parses, at most maxHops
//     trusted hops), it is the rightmost untrusted hop when there is one, so
//     never a trusted proxy when an untrusted hop exists.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", "for=1.2.3.4", false)
	f.Add("10.0.0.1:1", "9.9.9.9,1.2.3.4", `for="[2001:db8::1]:80", for=10.0.0.3`, true)
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4", `for="9.9.9.9, for=1.2.3.4`, true)
	f.Add("203.0.113.1:1", "1.2.3.4", "for=1.2.3.4", true)
	f.Add("10.0.0.1:1", "[fe80::1%eth0]:80, garbage", "for=_x;for=1.2.3.4", true)
	f.Add("", "", "", false)
	f.Add("10.0.0.1", strings.Repeat("10.0.0.9,", 70)+"10.0.0.5", "", false)
	trusted := []string{"10.0.0.0/8", "2001:db8:ffff::/48"}
	gx := newGuard(f, &Options{TrustedProxies: trusted})
	gf := newGuard(f, &Options{TrustedProxies: trusted, ProxyHeader: Forwarded})
	plain := newGuard(f, nil)

	f.Fuzz(func(t *testing.T, remote, xff, fwd string, forwarded bool) {
		r := req(remote)
		r.Header["X-Forwarded-For"] = strings.Split(xff, "\n")
		r.Header["Forwarded"] = strings.Split(fwd, "\n")
		g, header := gx, xff
		if forwarded {
			g, header = gf, fwd
		}
		got := g.ClientIP(r)
		rem := parseRemoteAddr(remote)

		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientIP = %v: zoned or mapped", got)
		}
		if p := plain.ClientIP(r); p != rem {
			t.Fatalf("without trusted proxies: got %v, want RemoteAddr's %v", p, rem)
		}
		if !g.trusted(rem) && got != rem {
			t.Fatalf("untrusted RemoteAddr %v: got %v", rem, got)
		}
		if got != rem && !headerAddrs(header)[got] {
			t.Fatalf("ClientIP = %v: neither RemoteAddr (%v) nor in the header %q", got, rem, header)
		}

		if forwarded || !g.trusted(rem) {
			return
		}
		// Reference walk over a well-formed X-Forwarded-For.
		var hops []netip.Addr
		for _, line := range r.Header["X-Forwarded-For"] {
			for _, e := range strings.Split(line, ",") {
				a, ok := parseNode(trimOWS(e))
				if !ok {
					return // malformed: covered by the invariants above
				}
				hops = append(hops, a)
			}
		}
		want, trustedHops := rem, 0
		for i := len(hops) - 1; i >= 0; i-- {
			if !g.trusted(hops[i]) {
				want = hops[i]
				break
			}
			if trustedHops++; trustedHops > maxHops {
				return
			}
			want = hops[i]
		}
		if got != want {
			t.Fatalf("X-Forwarded-For %q from %v: got %v, want %v", xff, rem, got, want)
		}
	})
}
