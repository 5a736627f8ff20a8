package guard

import (
	"net/http"
	"strings"
	"testing"
)

// TestParseBrands: the Sec-CH-UA grammar (RFC 8941 lists of strings with
// parameters), brand choice, and hostile headers, which are ignored whole.
func TestParseBrands(t *testing.T) {
	tests := []struct {
		name, h string
		family  family
		major   int
		ok      bool
	}{
		{"chrome", hintsChrome131, familyChrome, 131, true},
		{"chrome, grease first", hintsChrome132, familyChrome, 132, true},
		{"edge", hintsEdge131, familyEdge, 131, true},
		{"opera", hintsOpera115, familyOpera, 115, true},
		{"opera gx", `"Opera GX";v="114", "Chromium";v="128", "Not;A=Brand";v="24"`, familyOpera, 114, true},
		{"brave", hintsBrave131, familyBrave, 131, true},
		{"samsung internet, decimal version", hintsSamsung26, familySamsung, 26, true},
		{"android web view", hintsWebView131, familyWebView, 131, true},
		{"opera mini: first recognised brand", `"Opera Mini Android";v="97", "Android WebView";v="143", "Chromium";v="143", "Not A(Brand";v="24"`, familyWebView, 143, true},
		{"chromium alone", `"Chromium";v="131", "Not_A Brand";v="24"`, familyChromium, 131, true},
		{"chromium before the brand", `"Chromium";v="131", "Microsoft Edge";v="131"`, familyEdge, 131, true},
		{"old grease with a space", `" Not A;Brand";v="99", "Chromium";v="98", "Google Chrome";v="98"`, familyChrome, 98, true},
		{"no spaces", `"Google Chrome";v="131","Chromium";v="131"`, familyChrome, 131, true},
		{"tabs and spaces", "\t\"Chromium\";v=\"131\" \t,\t \"Google Chrome\";v=\"131\" ", familyChrome, 131, true},
		{"space after semicolon", `"Google Chrome"; v="131"`, familyChrome, 131, true},
		{"other parameters", `"Google Chrome";x=1;y=-2.5;z=?1;w=tok/en:1;b=:aGk=:;*k="s";v="131"`, familyChrome, 131, true},
		{"later v wins", `"Google Chrome";v="1";v="131"`, familyChrome, 131, true},
		{"v not a string", `"Google Chrome";v=131`, familyChrome, 0, true},
		{"v boolean", `"Google Chrome";v`, familyChrome, 0, true},
		{"no version", `"Google Chrome"`, familyChrome, 0, true},
		{"huge version", `"Google Chrome";v="99999999999999999999"`, familyChrome, 99999, true},
		{"escaped quote in grease", `"Not\"A\\Brand";v="8", "Google Chrome";v="131"`, familyChrome, 131, true},

		{"empty", "", 0, 0, false},
		{"spaces", "   ", 0, 0, false},
		{"grease only", `"Not)A;Brand";v="99"`, 0, 0, false},
		{"unknown brands", `"Yandex";v="24", "Vivaldi";v="7"`, 0, 0, false},
		{"brand in other case", `"google chrome";v="131"`, 0, 0, false},
		{"brand with a space", `"Google Chrome ";v="131"`, 0, 0, false},
		{"escaped brand", `"Google\"Chrome";v="131"`, 0, 0, false},
		{"trailing comma", `"Google Chrome";v="131",`, 0, 0, false},
		{"leading comma", `,"Google Chrome";v="131"`, 0, 0, false},
		{"empty member", `"Google Chrome";v="131",,"Chromium";v="131"`, 0, 0, false},
		{"token member", `Chromium;v="131"`, 0, 0, false},
		{"inner list", `("Google Chrome" "Chromium");v="131"`, 0, 0, false},
		{"unterminated string", `"Google Chrome;v="131`, 0, 0, false},
		{"bad escape", `"Goo\gle Chrome";v="131"`, 0, 0, false},
		{"control character", "\"Google\x01Chrome\";v=\"131\"", 0, 0, false},
		{"non-ascii", `"Google Chrome";v="131", "Ch` + "\u00e9" + `";v="1"`, 0, 0, false},
		{"upper-case key", `"Google Chrome";V="131"`, 0, 0, false},
		{"empty key", `"Google Chrome";="131"`, 0, 0, false},
		{"no separator", `"Google Chrome";v="131" "Chromium"`, 0, 0, false},
		{"semicolon separator", `"Google Chrome";v="131"; "Chromium"`, 0, 0, false},
		{"space before semicolon", `"Google Chrome" ;v="131"`, 0, 0, false},
		{"bad number", `"Google Chrome";x=1234567890123456;v="131"`, 0, 0, false},
		{"bad decimal", `"Google Chrome";x=1.2345;v="131"`, 0, 0, false},
		{"bad boolean", `"Google Chrome";x=?2;v="131"`, 0, 0, false},
		{"bad byte sequence", `"Google Chrome";x=:aGk=;v="131"`, 0, 0, false},
		{"lone minus", `"Google Chrome";x=-;v="131"`, 0, 0, false},
		{"too long", `"Google Chrome";v="131"` + strings.Repeat(" ", maxClientHint), 0, 0, false},
		{"nul", "\x00", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m, ok := parseBrands(tt.h)
			if f != tt.family || m != tt.major || ok != tt.ok {
				t.Fatalf("parseBrands(%q): got %s %d %v, want %s %d %v", tt.h, f, m, ok, tt.family, tt.major, tt.ok)
			}
		})
	}
}

// TestUserAgentsHintLines: Sec-CH-UA split over two header lines is
// ignored, not joined.
func TestUserAgentsHintLines(t *testing.T) {
	h := http.Header{"User-Agent": {uaFirefox133}, "Sec-Ch-Ua": {`"Google Chrome";v="131"`, `"Chromium";v="131"`}}
	if c := clientOf(h); c.class != classGecko || c.family != familyFirefox {
		t.Fatalf("clientOf: got %s %s, want the User-Agent's gecko firefox", c.class, c.family)
	}
}

func TestParseBrandsNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { parseBrands(hintsChrome132) }); n != 0 {
		t.Fatalf("parseBrands allocations: got %v, want 0", n)
	}
}

// brandNamed is, for each family parseBrands returns, a text that the
// header must contain for that result.
var brandNamed = map[family]string{
	familyChrome: `"Google Chrome"`, familyEdge: `"Microsoft Edge"`, familyOpera: `"Opera`,
	familySamsung: `"Samsung Internet"`, familyBrave: `"Brave"`, familyWebView: `"Android WebView"`,
	familyChromium: `"Chromium"`,
}

// FuzzClientHints checks the invariants of parseBrands and clientOf for any
// Sec-CH-UA and User-Agent:
//   - a result names a family whose brand is in the header, with a version
//     in 0..99999;
//   - a GREASE member in front of the list changes nothing (brands Keycard
//     does not know are ignored, and the rest of the list is read alike);
//   - a recognised list makes a browser Blink, and never changes the class
//     of curl, Go or a crawler; an unrecognised one leaves the User-Agent's
//     reading alone.
func FuzzClientHints(f *testing.F) {
	for _, s := range []string{hintsChrome131, hintsChrome132, hintsEdge131, hintsOpera115, hintsBrave131, hintsSamsung26, hintsWebView131,
		`"Chromium";v="131"`, `"Google Chrome";v=131;x=?1;y=:aGk=:;z=1.5`, `"Not\"A\\Brand";v="8"`, `("a" "b")`, `"a",`, ""} {
		f.Add(s, uaChrome131)
	}
	f.Add(hintsChrome131, "curl/8.5.0")
	f.Add(hintsEdge131, uaFirefox133)
	f.Fuzz(func(t *testing.T, h, ua string) {
		fam, major, ok := parseBrands(h)
		if !ok {
			if fam != 0 || major != 0 {
				t.Fatalf("parseBrands(%q) failed with %s %d", h, fam, major)
			}
		} else {
			name, known := brandNamed[fam]
			if !known || !strings.Contains(h, name) {
				t.Fatalf("parseBrands(%q) = %s, a brand not in the header", h, fam)
			}
			if major < 0 || major > 99999 {
				t.Fatalf("parseBrands(%q): version %d", h, major)
			}
		}
		const grease = `"Not)A;Brand";v="99", `
		if len(grease)+len(h) <= maxClientHint {
			f2, m2, ok2 := parseBrands(grease + h)
			if f2 != fam || m2 != major || ok2 != ok {
				t.Fatalf("GREASE in front of %q: got %s %d %v, want %s %d %v", h, f2, m2, ok2, fam, major, ok)
			}
		}

		plain := clientOf(http.Header{"User-Agent": {ua}})
		hinted := clientOf(http.Header{"User-Agent": {ua}, "Sec-Ch-Ua": {h}})
		switch {
		case plain.class == classCurl || plain.class == classGo || plain.class == classBot:
			if hinted != plain {
				t.Fatalf("hints %q changed a %s client: %v", h, plain.class, hinted)
			}
		case ok:
			if hinted.class != classBlink {
				t.Fatalf("hints %q on %q: class %s, want blink", h, ua, hinted.class)
			}
		default:
			if hinted != plain {
				t.Fatalf("unrecognised hints %q changed %v to %v", h, plain, hinted)
			}
		}
	})
}
