package guard

import (
	"bytes"
	"slices"
	"strings"
	"testing"
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
	custom := Actions{Browser: ActionRequireReauth, Version: ActionRevoke, Language: ActionRequireReauth, Network: ActionRevoke}
	tests := []struct {
		name        string
		remote      string
		headers     []string
		changed     []Signal
		wantDefault Action
		wantCustom  Action
	}{
		{"same", "198.51.100.7:1", base(), nil, ActionNone, ActionNone},
		{"same /24", "198.51.100.250:2", base(), nil, ActionNone, ActionNone},
		{"IPv4-mapped same address", "[::ffff:198.51.100.7]:1", base(), nil, ActionNone, ActionNone},
		{"language case and spaces", "198.51.100.7:1", []string{"User-Agent", uaFirefox133, "Accept-Language", "EN-gb, en; q=0.9"}, nil, ActionNone, ActionNone},
		{"spoofed XFF is not a network change", "198.51.100.7:1", append(base(), "X-Forwarded-For", "1.2.3.4"), nil, ActionNone, ActionNone},

		{"network", "198.51.101.7:1", base(), []Signal{SignalNetwork}, ActionLog, ActionRevoke},
		{"network IPv6", "[2001:db8::1]:1", base(), []Signal{SignalNetwork}, ActionLog, ActionRevoke},
		{"network unknown", "", base(), []Signal{SignalNetwork}, ActionLog, ActionRevoke},
		{"language", "198.51.100.7:1", []string{"User-Agent", uaFirefox133, "Accept-Language", "de-DE"}, []Signal{SignalLanguage}, ActionLog, ActionRequireReauth},
		{"language dropped", "198.51.100.7:1", []string{"User-Agent", uaFirefox133}, []Signal{SignalLanguage}, ActionLog, ActionRequireReauth},
		{"version", "198.51.100.7:1", []string{"User-Agent", uaFirefox134, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalVersion}, ActionLog, ActionRevoke},
		{"browser", "198.51.100.7:1", []string{"User-Agent", uaChrome131, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser}, ActionRevoke, ActionRequireReauth},
		{"browser to curl", "198.51.100.7:1", []string{"User-Agent", "curl/8.5.0", "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser}, ActionRevoke, ActionRequireReauth},
		{"browser and network", "203.0.113.1:1", []string{"User-Agent", uaChrome131, "Accept-Language", "en-GB,en;q=0.9"}, []Signal{SignalBrowser, SignalNetwork}, ActionRevoke, ActionRevoke},
		{"everything", "203.0.113.1:1", []string{"User-Agent", uaChrome131}, []Signal{SignalBrowser, SignalLanguage, SignalNetwork}, ActionRevoke, ActionRevoke},
		{"version and language", "198.51.100.7:1", []string{"User-Agent", uaFirefox134}, []Signal{SignalVersion, SignalLanguage}, ActionLog, ActionRevoke},
	}
	gd := newGuard(t, nil)
	gc := newGuard(t, &Options{Actions: custom})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				g    *Guard
				want Action
			}{{gd, tt.wantDefault}, {gc, tt.wantCustom}} {
				stored := c.g.Fingerprint(req("198.51.100.7:1", base()...))
				v := c.g.Check(stored, req(tt.remote, tt.headers...))
				if !slices.Equal(v.Changed, tt.changed) {
					t.Fatalf("Changed: got %v, want %v", v.Changed, tt.changed)
				}
				if v.Action != c.want {
					t.Fatalf("Action: got %s, want %s", v.Action, c.want)
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

func TestFingerprintMalformedStoredFailsClosed(t *testing.T) {
	g := newGuard(t, nil)
	r := req("198.51.100.7:1", base()...)
	fp := g.Fingerprint(r)
	all := []Signal{SignalBrowser, SignalLanguage, SignalNetwork}
	for _, stored := range []string{"", "g1.", fp[:FingerprintLen-1], fp + "A", "g2." + fp[3:], strings.ToUpper(fp), strings.Repeat("\x00", FingerprintLen)} {
		v := g.Check(stored, r)
		if v.Action != ActionRevoke || len(v.Changed) < len(all) {
			t.Errorf("Check(malformed %q): got %v, want at least %v and revoke", stored, v, all)
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
	if len(fp1) != FingerprintLen || !strings.HasPrefix(fp1, "g1.") {
		t.Fatalf("Fingerprint: got %q, want %d characters starting g1.", fp1, FingerprintLen)
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
	r := req("198.51.100.7:1", base()...)
	fp := g.Fingerprint(r)
	allocs := testing.AllocsPerRun(100, func() {
		if v := g.Check(fp, r); v.Action != ActionNone {
			t.Fatal("changed")
		}
	})
	if allocs != 0 {
		t.Fatalf("Check allocations: got %v, want 0", allocs)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SignalBrowser.String(), "browser"}, {SignalVersion.String(), "browser_version"},
		{SignalLanguage.String(), "accept_language"}, {SignalNetwork.String(), "network"},
		{Signal(0).String(), "invalid"}, {ActionNone.String(), "none"}, {ActionLog.String(), "log"},
		{ActionRequireReauth.String(), "require_reauth"}, {ActionRevoke.String(), "revoke"},
		{Action(9).String(), "invalid"}, {FamilyGo.String(), "go-http-client"}, {Family(99).String(), "other"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
