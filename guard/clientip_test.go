package guard

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// TestClientIPWithoutTrustedProxies: no header is believed.
func TestClientIPWithoutTrustedProxies(t *testing.T) {
	g := newGuard(t, nil)
	gf := newGuard(t, &Options{ProxyHeader: Forwarded})
	tests := []struct {
		name, remote string
		headers      []string
		want         string
	}{
		{"plain", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"spoofed XFF", "203.0.113.9:5555", []string{"X-Forwarded-For", "1.2.3.4"}, "203.0.113.9"},
		{"spoofed Forwarded", "203.0.113.9:5555", []string{"Forwarded", "for=1.2.3.4"}, "203.0.113.9"},
		{"spoofed X-Real-IP", "203.0.113.9:5555", []string{"X-Real-IP", "1.2.3.4"}, "203.0.113.9"},
		{"loopback remote with XFF", "127.0.0.1:1", []string{"X-Forwarded-For", "1.2.3.4"}, "127.0.0.1"},
		{"IPv6", "[2001:db8::5]:443", []string{"X-Forwarded-For", "1.2.3.4"}, "2001:db8::5"},
		{"IPv6 zone", "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"IPv4-mapped", "[::ffff:198.51.100.7]:80", nil, "198.51.100.7"},
		{"bare IP", "198.51.100.7", nil, "198.51.100.7"},
		{"empty", "", nil, "invalid IP"},
		{"unix socket", "@", nil, "invalid IP"},
		{"garbage", "not-an-ip:80", nil, "invalid IP"},
		{"port only", ":80", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, g := range []*Guard{g, gf} {
				if got := g.ClientIP(req(tt.remote, tt.headers...)).String(); got != tt.want {
					t.Fatalf("ClientIP: got %s, want %s", got, tt.want)
				}
			}
		})
	}
}

func TestClientIPXForwardedFor(t *testing.T) {
	g := newGuard(t, &Options{TrustedProxies: []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"}})
	const proxy = "10.0.0.1:4000"
	many := strings.Repeat("10.1.1.1, ", 100) + "10.0.0.2"
	tests := []struct {
		name, remote string
		xff          []string // one entry per header line
		want         string
	}{
		{"untrusted remote", "203.0.113.9:1", []string{"1.2.3.4"}, "203.0.113.9"},
		{"one hop", proxy, []string{"1.2.3.4"}, "1.2.3.4"},
		{"no header", proxy, nil, "10.0.0.1"},
		{"client spoofs left", proxy, []string{"9.9.9.9, 1.2.3.4"}, "1.2.3.4"},
		{"client spoofs a trusted address", proxy, []string{"10.9.9.9, 1.2.3.4"}, "1.2.3.4"},
		{"skip trusted hops", proxy, []string{"1.2.3.4, 10.0.0.7, 192.0.2.1"}, "1.2.3.4"},
		{"single trusted address is /32", proxy, []string{"1.2.3.4, 192.0.2.2"}, "192.0.2.2"},
		{"two lines", proxy, []string{"9.9.9.9", "1.2.3.4, 10.0.0.7"}, "1.2.3.4"},
		{"two lines, trusted last line", proxy, []string{"1.2.3.4", "10.0.0.7"}, "1.2.3.4"},
		{"IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::9"}, "2001:db8:1::9"},
		{"IPv4-mapped remote proxy", "[::ffff:10.0.0.1]:443", []string{"1.2.3.4"}, "1.2.3.4"},
		{"IPv4-mapped hop", proxy, []string{"::ffff:1.2.3.4"}, "1.2.3.4"},
		{"port", proxy, []string{"1.2.3.4:5678"}, "1.2.3.4"},
		{"bracketed IPv6 with port", proxy, []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"bracketed IPv6", proxy, []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"spaces and tabs", proxy, []string{" \t1.2.3.4 \t,\t10.0.0.3 "}, "1.2.3.4"},
		{"all trusted", proxy, []string{"10.1.1.1, 10.0.0.2"}, "10.1.1.1"},
		{"garbage left of the client", proxy, []string{"<script>, ;;, 1.2.3.4"}, "1.2.3.4"},
		{"huge garbage left of the client", proxy, []string{strings.Repeat("x", 1<<16) + ",1.2.3.4"}, "1.2.3.4"},
		{"many hops left of the client", proxy, []string{strings.Repeat("9.9.9.9,", 10000) + "1.2.3.4"}, "1.2.3.4"},

		// Fail closed: RemoteAddr.
		{"garbage", proxy, []string{"garbage"}, "10.0.0.1"},
		{"garbage right of the client", proxy, []string{"1.2.3.4, garbage"}, "10.0.0.1"},
		{"empty header", proxy, []string{""}, "10.0.0.1"},
		{"trailing comma", proxy, []string{"1.2.3.4,"}, "10.0.0.1"},
		{"empty element", proxy, []string{"1.2.3.4,,10.0.0.2"}, "10.0.0.1"},
		{"zone", proxy, []string{"fe80::1%eth0"}, "10.0.0.1"},
		{"zone in brackets", proxy, []string{"[fe80::1%eth0]:80"}, "10.0.0.1"},
		{"IPv4 in brackets", proxy, []string{"[1.2.3.4]"}, "10.0.0.1"},
		{"IPv6 with port, no brackets", proxy, []string{"2001:db8::1:443"}, "2001:db8::1:443"}, // a valid IPv6
		{"empty port", proxy, []string{"1.2.3.4:"}, "10.0.0.1"},
		{"long port", proxy, []string{"1.2.3.4:1234567"}, "10.0.0.1"},
		{"unterminated bracket", proxy, []string{"[2001:db8::1"}, "10.0.0.1"},
		{"hostname", proxy, []string{"client.example"}, "10.0.0.1"},
		{"unknown", proxy, []string{"unknown"}, "10.0.0.1"},
		{"CIDR", proxy, []string{"1.2.3.0/24"}, "10.0.0.1"},
		{"leading zeros", proxy, []string{"001.002.003.004"}, "10.0.0.1"},
		{"too many trusted hops", proxy, []string{many}, "10.0.0.1"},
		{"NUL", proxy, []string{"1.2.3.4\x00"}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req(tt.remote)
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("Forwarded", "for=6.6.6.6") // never read in this mode
			if got := g.ClientIP(r).String(); got != tt.want {
				t.Fatalf("ClientIP: got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClientIPForwarded(t *testing.T) {
	g := newGuard(t, &Options{TrustedProxies: []string{"10.0.0.0/8"}, ProxyHeader: Forwarded})
	const proxy = "10.0.0.1:4000"
	tests := []struct {
		name string
		fwd  []string
		want string
	}{
		{"token", []string{"for=1.2.3.4"}, "1.2.3.4"},
		{"quoted", []string{`for="1.2.3.4"`}, "1.2.3.4"},
		{"case-insensitive name", []string{"For=1.2.3.4"}, "1.2.3.4"},
		{"with other parameters", []string{"proto=https;for=1.2.3.4;by=10.0.0.1;host=example.com"}, "1.2.3.4"},
		{"IPv6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"IPv4 with port", []string{`for="1.2.3.4:8080"`}, "1.2.3.4"},
		{"client spoofs left", []string{"for=9.9.9.9, for=1.2.3.4"}, "1.2.3.4"},
		{"skip trusted hops", []string{"for=1.2.3.4, for=10.0.0.5;proto=https"}, "1.2.3.4"},
		{"two lines", []string{"for=9.9.9.9", "for=1.2.3.4"}, "1.2.3.4"},
		{"comma inside quotes on the left", []string{`for="9.9.9.9,x", for=1.2.3.4`}, "1.2.3.4"},
		{"stray quote on the left", []string{`for="9.9.9.9, for=1.2.3.4`}, "1.2.3.4"},
		{"all trusted", []string{"for=10.2.2.2, for=10.0.0.5"}, "10.2.2.2"},
		{"spaces", []string{"  for = 1.2.3.4  ;  proto=http "}, "1.2.3.4"},

		{"unknown", []string{"for=unknown"}, "10.0.0.1"},
		{"obfuscated", []string{"for=_hidden"}, "10.0.0.1"},
		{"no for", []string{"proto=https"}, "10.0.0.1"},
		{"two fors", []string{"for=1.2.3.4;for=5.6.7.8"}, "10.0.0.1"},
		{"pair without =", []string{"for=1.2.3.4;secure"}, "10.0.0.1"},
		{"unterminated quote", []string{`for="1.2.3.4`}, "10.0.0.1"},
		{"escape in quotes", []string{`for="1.2.3.\4"`}, "10.0.0.1"},
		{"empty for", []string{`for=""`}, "10.0.0.1"},
		{"garbage right of the client", []string{"for=1.2.3.4, garbage"}, "10.0.0.1"},
		{"empty", []string{""}, "10.0.0.1"},
		{"zone", []string{`for="[fe80::1%eth0]"`}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req(proxy)
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			r.Header.Set("X-Forwarded-For", "6.6.6.6") // never read in this mode
			if got := g.ClientIP(r).String(); got != tt.want {
				t.Fatalf("ClientIP: got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTrustedProxiesValidation(t *testing.T) {
	tests := []struct {
		proxy string
		ok    bool
	}{
		{"10.0.0.0/8", true},
		{"10.1.2.3/8", true}, // masked
		{"192.0.2.1", true},
		{"2001:db8::/32", true},
		{"::ffff:10.0.0.0/104", true},
		{"", false},
		{"10.0.0.0/33", false},
		{"10.0.0.0/", false},
		{"fe80::1%eth0", false},
		{"::ffff:10.0.0.0/8", false},
		{"proxy.internal", false},
		{"10.0.0.0/8 ", false},
	}
	for _, tt := range tests {
		t.Run(tt.proxy, func(t *testing.T) {
			_, err := New(testKey, &Options{TrustedProxies: []string{tt.proxy}})
			if got := err == nil; got != tt.ok {
				t.Fatalf("New with proxy %q: got err %v, want ok=%v", tt.proxy, err, tt.ok)
			}
		})
	}
	g := newGuard(t, &Options{TrustedProxies: []string{"::ffff:10.0.0.0/104"}})
	if got := g.ClientIP(req("10.1.1.1:1", "X-Forwarded-For", "1.2.3.4")).String(); got != "1.2.3.4" {
		t.Fatalf("IPv4-mapped trusted prefix: got %s, want 1.2.3.4", got)
	}
}

func TestNetwork(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"198.51.100.77", "198.51.100.0/24"},
		{"::ffff:198.51.100.77", "198.51.100.0/24"},
		{"2001:db8:abcd:1234::1", "2001:db8:abcd::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"::1", "::/48"},
	}
	for _, tt := range tests {
		if got := Network(netip.MustParseAddr(tt.ip)).String(); got != tt.want {
			t.Errorf("Network(%s): got %s, want %s", tt.ip, got, tt.want)
		}
	}
	if got := Network(netip.Addr{}); got.IsValid() {
		t.Errorf("Network(zero): got %v, want the zero Prefix", got)
	}
}

func TestFromTrustedProxy(t *testing.T) {
	g := newGuard(t, &Options{TrustedProxies: []string{"10.0.0.0/8", "::1"}})
	for addr, want := range map[string]bool{
		"10.1.2.3:443": true, "[::1]:80": true, "[::ffff:10.0.0.1]:1": true,
		"192.0.2.1:80": false, "[2001:db8::1]:80": false, "": false, "garbage": false,
	} {
		r := &http.Request{RemoteAddr: addr, Header: http.Header{"X-Forwarded-For": {"10.0.0.9"}}}
		if got := g.FromTrustedProxy(r); got != want {
			t.Errorf("FromTrustedProxy(%q) = %v, want %v", addr, got, want)
		}
	}
	if newGuard(t, nil).FromTrustedProxy(&http.Request{RemoteAddr: "10.1.2.3:1"}) {
		t.Error("without trusted proxies every proxy header must be ignored")
	}
}
