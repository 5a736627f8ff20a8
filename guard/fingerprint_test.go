package guard

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/keycard-go/keycard"
)

const (
	uaFirefox133 = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaFirefox134 = "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0"
	uaChrome131  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

// base is the request a fingerprint is recorded from in the tests below.
func base() []string {
	return []string{"User-Agent", uaFirefox133, "Accept-Language", "en-GB,en;q=0.9"}
}

func TestFingerprintSignals(t *testing.T) {
	custom := Actions{Browser: keycard.GuardRevoke, Version: keycard.GuardRevoke, Language: keycard.GuardReauth, Network: keycard.GuardRevoke}
	tests := []struct {
		name        string
		remote      string
		headers     []string
		changed     []Signal
		wantDefault keycard.GuardAction
		wantCustom  keycard.GuardAction
	}{
		{"same", "198.51.100.7:1", base(), nil, keycard.GuardNone, keycard.GuardNone},
		{"same /24", "198.51.100.250:2", base(), nil, keycard.GuardNone, keycard.GuardNone},
		{"IPv4-mapped same address", "[::ffff:198.51.100.7]:1", base(), nil, keycard.GuardNone, keycard.GuardNone},
		{"language case and spaces", "198.51.100.7:1", []string{"User-Agent", uaFirefox133, "Accept-Language", "EN-gb, en; q=0.9"}, nil, keycard.GuardNone, keycard.GuardNone},
		{"spoofed XFF is not a network change", "198.51.100.7:1", append(base(), "X-Forwarded-For", "1.2.3.4"), nil, keycard.GuardNone, keycard.GuardNone},

		{"network", "198.51.101.7:1", base(), []Signal{SignalNetwork}, keycard.GuardLog, keycard.GuardRevoke},
		{"network IPv6", "[2001:db8::1]:1", base(), []Signal{SignalNetwork}, keycard.GuardLog, keycard.GuardRevoke},
		{"network unknown", "", base(), []Signal{SignalNetwork}, keycard.GuardLog, keycard.GuardRevoke},
		{"language", "198.51.100.7:1", []string{"User-Agent", uaFirefox133, "Accept-Language", "de-DE"}, []Signal{SignalLanguage}, keycard.GuardLog, keycard.GuardReauth},
		{"language dropped", "198.51.100.7:1", []string{"User-Agent", uaFirefox133}, []Signal{SignalLanguage}, keycard.GuardLog, keycard.GuardReauth},
		{"version", "198.51.100.7:1", []string{"User-Agent", uaFirefox134, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalVersion}, keycard.GuardLog, keycard.GuardRevoke},
		{"browser", "198.51.100.7:1", []string{"User-Agent", uaChrome131, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser}, keycard.GuardReauth, keycard.GuardRevoke},
		{"browser to curl", "198.51.100.7:1", []string{"User-Agent", "curl/8.5.0", "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser}, keycard.GuardReauth, keycard.GuardRevoke},
		{"browser and network", "203.0.113.1:1", []string{"User-Agent", uaChrome131, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser, SignalNetwork}, keycard.GuardReauth, keycard.GuardRevoke},
		{"everything", "203.0.113.1:1", []string{"User-Agent", uaChrome131}, []Signal{SignalBrowser, SignalLanguage, SignalNetwork}, keycard.GuardReauth, keycard.GuardRevoke},
		{"version and language", "198.51.100.7:1", []string{"User-Agent", uaFirefox134}, []Signal{SignalVersion, SignalLanguage}, keycard.GuardLog, keycard.GuardRevoke},
	}
	gd := newGuard(t, nil)
	gc := newGuard(t, &Options{Actions: custom})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				g    *Guard
				want keycard.GuardAction
			}{{gd, tt.wantDefault}, {gc, tt.wantCustom}} {
				stored := c.g.Fingerprint(req("198.51.100.7:1", base()...))
				v := c.g.Check(stored, req(tt.remote, tt.headers...))
				if !slices.Equal(v.Changed, tt.changed) {
					t.Fatalf("Changed: got %v, want %v", v.Changed, tt.changed)
				}
				if v.Action != c.want {
					t.Fatalf("keycard.GuardAction: got %s, want %s", v.Action, c.want)
				}
				var names []string
				for _, s := range tt.changed {
					names = append(names, s.String())
				}
				if got, want := v.Signals(), strings.Join(names, ","); got != want {
					t.Fatalf("Signals: got %q, want %q", got, want)
				}
				for _, s := range tt.changed {
					if !v.Has(s) {
						t.Fatalf("Has(%s): got false", s)
					}
				}
			}
		})
	}
}

// TestFingerprintMalformedStoredFailsClosed: a stored value that is not a
// fingerprint changes every signal, so it takes the strongest configured
// action (by default keycard.GuardReauth, the browser's).
func TestFingerprintMalformedStoredFailsClosed(t *testing.T) {
	g := newGuard(t, nil)
	r := req("198.51.100.7:1", base()...)
	fp := g.Fingerprint(r)
	all := []Signal{SignalBrowser, SignalLanguage, SignalNetwork}
	for _, stored := range []string{"", "g2.", "g1.", fp[:FingerprintLen-1], fp + "A", "g3." + fp[3:], "g0." + fp[3:], strings.ToUpper(fp), strings.Repeat("\x00", FingerprintLen)} {
		v := g.Check(stored, r)
		if v.Action != keycard.GuardReauth || len(v.Changed) < len(all) {
			t.Errorf("Check(malformed %q): got %v, want at least %v and reauth", stored, v, all)
		}
	}
	// A single changed character changes exactly one signal.
	for i := len(fpPrefix); i < FingerprintLen; i++ {
		c := byte('A')
		if fp[i] == 'A' {
			c = 'B'
		}
		m := fp[:i] + string(c) + fp[i+1:]
		if v := g.Check(m, r); len(v.Changed) != 1 || v.Changed[0] != Signal((i-len(fpPrefix))/fpCharLen+1) {
			t.Errorf("char %d changed: got %v", i, v.Changed)
		}
	}
}

func TestFingerprintKeyedAndOpaque(t *testing.T) {
	r := req("198.51.100.7:1", base()...)
	g1 := newGuard(t, nil)
	g2, err := New(bytes.Repeat([]byte{8}, MinKeyLen), nil)
	if err != nil {
		t.Fatal(err)
	}
	fp1, fp2 := g1.Fingerprint(r), g2.Fingerprint(r)
	if len(fp1) != FingerprintLen || !strings.HasPrefix(fp1, "g2.") {
		t.Fatalf("Fingerprint: got %q, want %d characters starting g2.", fp1, FingerprintLen)
	}
	if fp1 == fp2 {
		t.Fatal("two keys give the same fingerprint")
	}
	if fp1 != g1.Fingerprint(r) {
		t.Fatal("Fingerprint is not deterministic")
	}
	for _, raw := range []string{"firefox", "Firefox", "198.51.100", "133", "en-gb"} {
		if strings.Contains(fp1, raw) {
			t.Fatalf("fingerprint contains the raw value %q", raw)
		}
	}
	if _, err := New(make([]byte, MinKeyLen-1), nil); err == nil {
		t.Fatal("New with a short key: got nil error")
	}
	if _, err := New(testKey, &Options{Actions: Actions{Network: 9}}); err == nil {
		t.Fatal("New with an invalid action: got nil error")
	}
}

func TestCheckNoAllocWhenUnchanged(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	g := newGuard(t, nil)
	plain := req("198.51.100.7:1", base()...)
	hinted := req("198.51.100.7:1", "User-Agent", uaChrome131, "Sec-CH-UA", hintsChrome131, "Accept-Language", "en")
	for _, c := range []struct {
		name   string
		stored string
		r      *http.Request
	}{
		{"g2", g.Fingerprint(plain), plain},
		{"g2 with hints", g.Fingerprint(hinted), hinted},
		{"g1", g1Fingerprint(t, "firefox linux"), req("198.51.100.7:1", base()...)},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if v := g.Check(c.stored, c.r); v.Action != keycard.GuardNone {
				t.Fatalf("%s: changed %v", c.name, v.Changed)
			}
		})
		if allocs != 0 {
			t.Fatalf("%s: Check allocations: got %v, want 0", c.name, allocs)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SignalBrowser.String(), "browser"}, {SignalVersion.String(), "browser_version"},
		{SignalLanguage.String(), "accept_language"}, {SignalNetwork.String(), "network"},
		{Signal(0).String(), "invalid"}, {familyGo.String(), "go-http-client"}, {family(99).String(), "other"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestBrowserChangePairs: a session logs in from one client and comes back
// from another; which signals change, and the default action. The browser
// modes and client hints of one browser must never look like another
// browser.
func TestBrowserChangePairs(t *testing.T) {
	type client struct{ ua, hints string }
	tests := []struct {
		name         string
		login, later client
		changed      []Signal
		action       keycard.GuardAction
	}{
		{"chrome with hints, then without", client{uaChrome131, hintsChrome131}, client{uaChrome131, ""}, nil, keycard.GuardNone},
		{"chrome without hints, then with", client{uaChrome131, ""}, client{uaChrome131, hintsChrome131}, nil, keycard.GuardNone},
		{"edge with hints, then without", client{uaEdgeWin, hintsEdge131}, client{uaEdgeWin, ""}, nil, keycard.GuardNone},
		{"opera with hints, then without", client{uaOperaWin, hintsOpera115}, client{uaOperaWin, ""}, nil, keycard.GuardNone},
		{"android web view with hints, then without", client{uaAndroidWebViewFB, hintsWebView131}, client{uaAndroidWebViewFB, ""}, nil, keycard.GuardNone},
		{"chrome updates, grease changes", client{uaChrome131, hintsChrome131}, client{strings.Replace(uaChrome131, "131", "132", 1), hintsChrome132}, []Signal{SignalVersion}, keycard.GuardLog},
		{"chrome with its user agent rewritten", client{uaChrome131, hintsChrome131}, client{uaFirefox133, hintsChrome131}, nil, keycard.GuardNone},
		{"chrome with malformed hints", client{uaChrome131, hintsChrome131}, client{uaChrome131, `"Google Chrome";v="131",`}, nil, keycard.GuardNone},

		{"chrome ios to desktop mode", client{uaCriOS, ""}, client{uaCriOSDesktop, ""}, nil, keycard.GuardNone},
		{"chrome ios to desktop mode as mac safari", client{uaCriOS, ""}, client{uaSafariMac, ""}, []Signal{SignalVersion}, keycard.GuardLog},
		{"firefox ios to desktop mode as mac safari", client{uaFxiOS, ""}, client{uaSafariMac, ""}, []Signal{SignalVersion}, keycard.GuardLog},
		{"edge ios to desktop mode as mac safari", client{uaEdgiOS, ""}, client{uaSafariMac, ""}, []Signal{SignalVersion}, keycard.GuardLog},
		{"ipad safari to desktop mode", client{uaSafariIPad, ""}, client{uaSafariMac, ""}, nil, keycard.GuardNone},
		{"iphone safari to desktop mode", client{uaSafariIPhone, ""}, client{uaSafariMac, ""}, nil, keycard.GuardNone},

		{"samsung internet to desktop mode", client{uaSamsung, hintsSamsung26}, client{uaSamsungDesktop, hintsSamsung26}, nil, keycard.GuardNone},
		{"samsung internet to desktop mode, no hints", client{uaSamsung, ""}, client{uaSamsungDesktop, ""}, nil, keycard.GuardNone},
		{"samsung internet to desktop mode without its token", client{uaSamsung, hintsSamsung26}, client{uaSamsungBareDesk, hintsSamsung26}, nil, keycard.GuardNone},
		{"samsung internet to desktop mode without its token or hints", client{uaSamsung, ""}, client{uaSamsungBareDesk, ""}, []Signal{SignalVersion}, keycard.GuardLog},
		{"android chrome to desktop mode", client{uaChromeAndroid, hintsChrome131}, client{uaChromeLinux, hintsChrome131}, nil, keycard.GuardNone},
		{"android chrome to desktop mode, no hints", client{uaChromeAndroid, ""}, client{uaChromeLinux, ""}, nil, keycard.GuardNone},
		{"android firefox to desktop mode", client{uaFirefoxAndroid, ""}, client{uaFirefox133, ""}, nil, keycard.GuardNone},

		{"firefox to chrome", client{uaFirefox133, ""}, client{uaChrome131, ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"firefox to chrome with hints", client{uaFirefoxWin, ""}, client{uaChrome131, hintsChrome131}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"firefox to firefox with forged hints", client{uaFirefox133, ""}, client{uaFirefox133, hintsChrome131}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to firefox, same platform", client{uaChromeMac, hintsChrome131}, client{uaFirefoxMac, ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"safari to chrome on a mac", client{uaSafariMac, ""}, client{uaChromeMac, hintsChrome131}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"safari to firefox on a mac", client{uaSafariMac, ""}, client{uaFirefoxMac, ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to edge", client{uaChrome131, hintsChrome131}, client{uaEdgeWin, hintsEdge131}, []Signal{SignalVersion}, keycard.GuardLog},
		{"brave with hints, then without", client{uaChrome131, hintsBrave131}, client{uaChrome131, ""}, []Signal{SignalVersion}, keycard.GuardLog},
		{"chrome to curl", client{uaChrome131, hintsChrome131}, client{"curl/8.5.0", ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to go", client{uaChrome131, ""}, client{"Go-http-client/2.0", ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to googlebot", client{uaChrome131, ""}, client{uaGooglebot, ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to no user agent", client{uaChrome131, ""}, client{"", ""}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"chrome to garbage", client{uaChrome131, ""}, client{"\x00\xff<script>", "\x00"}, []Signal{SignalBrowser}, keycard.GuardReauth},
		{"android chrome to the facebook app's web view", client{uaChromeAndroid, ""}, client{uaAndroidWebViewFB, ""}, []Signal{SignalVersion}, keycard.GuardLog},
	}
	g := newGuard(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := func(c client) *http.Request {
				h := []string{"User-Agent", c.ua, "Accept-Language", "en"}
				if c.hints != "" {
					h = append(h, "Sec-CH-UA", c.hints)
				}
				return req("198.51.100.7:1", h...)
			}
			v := g.Check(g.Fingerprint(r(tt.login)), r(tt.later))
			if !slices.Equal(v.Changed, tt.changed) || v.Action != tt.action {
				t.Fatalf("got %v %s, want %v %s", v.Changed, v.Action, tt.changed, tt.action)
			}
		})
	}
}

// g1Vector is a fingerprint that the g1 format made (testdata).
type g1Vector struct{ name, remote, ua, lang, fp string }

func g1Vectors(t testing.TB) []g1Vector {
	t.Helper()
	b, err := os.ReadFile("testdata/g1-fingerprints.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var vs []g1Vector
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("testdata line %q: %d fields, want 5", line, len(f))
		}
		vs = append(vs, g1Vector{f[0], f[1], f[2], f[3], f[4]})
	}
	return vs
}

func g1Fingerprint(t testing.TB, name string) string {
	for _, v := range g1Vectors(t) {
		if v.name == name {
			return v.fp
		}
	}
	t.Fatalf("no g1 vector %q", name)
	return ""
}

// TestCheckG1Fingerprints: fingerprints stored by the g1 format are compared
// the g1 way: the same client (hints or not) is unchanged, including the
// ones whose reading has changed since (Samsung Internet, web views,
// crawlers), and another browser is still a browser change.
func TestCheckG1Fingerprints(t *testing.T) {
	g := newGuard(t, nil)
	for _, v := range g1Vectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if !strings.HasPrefix(v.fp, fpPrefixG1) || len(v.fp) != FingerprintLen {
				t.Fatalf("vector %q is not a g1 fingerprint", v.fp)
			}
			same := req(v.remote, "User-Agent", v.ua, "Accept-Language", v.lang)
			if got := g.Check(v.fp, same); got.Changed != nil {
				t.Fatalf("same client: changed %v", got.Changed)
			}
			hinted := req(v.remote, "User-Agent", v.ua, "Accept-Language", v.lang, "Sec-CH-UA", hintsEdge131)
			if got := g.Check(v.fp, hinted); got.Changed != nil {
				t.Fatalf("same client with hints: changed %v", got.Changed)
			}
			other := uaFirefox133
			if strings.Contains(v.ua, "Firefox/") {
				other = uaChrome131
			}
			moved := req(v.remote, "User-Agent", other, "Accept-Language", v.lang)
			if got := g.Check(v.fp, moved); !slices.Equal(got.Changed, []Signal{SignalBrowser}) || got.Action != keycard.GuardReauth {
				t.Fatalf("another browser: got %v %s, want [browser] reauth", got.Changed, got.Action)
			}
		})
	}
}
