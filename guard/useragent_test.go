package guard

import (
	"net/http"
	"strings"
	"testing"
)

// Real headers, as browsers sent them in 2024 and 2025 (reduced User-Agents
// where Chromium reduces them).
const (
	uaChromeMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChromeLinux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaEdgeWin     = uaChrome131 + " Edg/131.0.0.0"
	uaFirefoxWin  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaFirefoxMac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaSafariMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
	uaOperaWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0"

	uaChromeAndroid    = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	uaSamsung          = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
	uaSamsungDesktop   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36"
	uaSamsungBareDesk  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36" // desktop mode without its token
	uaFirefoxAndroid   = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
	uaAndroidWebViewFB = "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/490.0.0.49.69;]"

	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	uaSafariIPad    = "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	uaCriOS         = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
	uaCriOSDesktop  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131 Version/18.1 Safari/605.1.15"
	uaFxiOS         = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"
	uaEdgiOS        = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15"
	uaFacebookIOS   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.37.108;FBBV/634937880;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/636513478]"
	uaGooglebot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	hintsChrome131  = `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	hintsChrome132  = `"Not A(Brand";v="8", "Chromium";v="132", "Google Chrome";v="132"`
	hintsEdge131    = `"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	hintsOpera115   = `"Chromium";v="130", "Opera";v="115", "Not?A_Brand";v="99"`
	hintsBrave131   = `"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	hintsSamsung26  = `"Chromium";v="122", "Not(A:Brand";v="24", "Samsung Internet";v="26.0"`
	hintsWebView131 = `"Android WebView";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
)

// TestUserAgents: what real headers (and hostile ones) are taken for. The
// class is what the browser signal hashes; family and major are the version
// signal, and without hints they are parseUserAgent's result.
func TestUserAgents(t *testing.T) {
	tests := []struct {
		name, ua, hints string
		class           class
		family          family
		major           int
	}{
		// Desktop.
		{"chrome windows", uaChrome131, "", classBlink, familyChrome, 131},
		{"chrome windows with hints", uaChrome131, hintsChrome131, classBlink, familyChrome, 131},
		{"chrome macos", uaChromeMac, hintsChrome131, classBlink, familyChrome, 131},
		{"chrome linux", uaChromeLinux, "", classBlink, familyChrome, 131},
		{"chrome os", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "", classBlink, familyChrome, 131},
		{"chromium linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/120.0.6099.224 Chrome/120.0.6099.224 Safari/537.36", "", classBlink, familyChromium, 120},
		{"chromium-based, hints name only chromium", uaChromeLinux, `"Chromium";v="131", "Not_A Brand";v="24"`, classBlink, familyChrome, 131},
		{"edge windows", uaEdgeWin, "", classBlink, familyEdge, 131},
		{"edge windows with hints", uaEdgeWin, hintsEdge131, classBlink, familyEdge, 131},
		{"edge macos", uaChromeMac + " Edg/131.0.2903.70", "", classBlink, familyEdge, 131},
		{"legacy edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582", "", classLegacy, familyEdge, 18},
		{"firefox windows", uaFirefoxWin, "", classGecko, familyFirefox, 133},
		{"firefox macos", uaFirefoxMac, "", classGecko, familyFirefox, 133},
		{"firefox linux", uaFirefox133, "", classGecko, familyFirefox, 133},
		{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "", classGecko, familyFirefox, 133},
		{"safari macos", uaSafariMac, "", classWebKit, familySafari, 18},
		{"webkit without version", "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15", "", classWebKit, familySafari, 0},
		{"opera windows", uaOperaWin, "", classBlink, familyOpera, 115},
		{"opera windows with hints", uaOperaWin, hintsOpera115, classBlink, familyOpera, 115},
		{"presto opera", "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18", "", classLegacy, familyOpera, 12},
		{"brave (chrome's user agent)", uaChrome131, "", classBlink, familyChrome, 131},
		{"brave with hints", uaChrome131, hintsBrave131, classBlink, familyBrave, 131},
		{"internet explorer", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "", classLegacy, familyOther, 0},

		// Android.
		{"chrome android", uaChromeAndroid, hintsChrome131, classBlink, familyChrome, 131},
		{"chrome android desktop mode", uaChromeLinux, hintsChrome131, classBlink, familyChrome, 131},
		{"chrome android full version", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36", "", classBlink, familyChrome, 130},
		{"samsung internet", uaSamsung, "", classBlink, familySamsung, 26},
		{"samsung internet with hints", uaSamsung, hintsSamsung26, classBlink, familySamsung, 26},
		{"samsung internet with model", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "", classBlink, familySamsung, 25},
		{"samsung internet desktop mode", uaSamsungDesktop, "", classBlink, familySamsung, 26},
		{"samsung internet desktop mode without token", uaSamsungBareDesk, "", classBlink, familyChrome, 122},
		{"samsung internet desktop mode without token, hints", uaSamsungBareDesk, hintsSamsung26, classBlink, familySamsung, 26},
		{"edge android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", "", classBlink, familyEdge, 131},
		{"opera android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0", "", classBlink, familyOpera, 86},
		{"firefox android", uaFirefoxAndroid, "", classGecko, familyFirefox, 133},
		{"firefox android desktop mode", uaFirefox133, "", classGecko, familyFirefox, 133},

		// iOS and iPadOS: every browser is WebKit, whatever it is called.
		{"safari iphone", uaSafariIPhone, "", classWebKit, familySafari, 18},
		{"safari ipad", uaSafariIPad, "", classWebKit, familySafari, 18},
		{"safari ipad desktop mode", uaSafariMac, "", classWebKit, familySafari, 18},
		{"chrome ios", uaCriOS, "", classWebKit, familyChrome, 131},
		{"chrome ios desktop mode", uaCriOSDesktop, "", classWebKit, familyChrome, 131},
		{"chrome ipad", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "", classWebKit, familyChrome, 131},
		{"firefox ios", uaFxiOS, "", classWebKit, familyFirefox, 133},
		{"edge ios", uaEdgiOS, "", classWebKit, familyEdge, 131},
		{"opera ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1 OPT/5.0.7", "", classWebKit, familyOpera, 5},
		{"google app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1", "", classWebKit, familyWebView, 343},

		// In-app browsers.
		{"facebook android", uaAndroidWebViewFB, "", classBlink, familyWebView, 131},
		{"facebook android with hints", uaAndroidWebViewFB, hintsWebView131, classBlink, familyWebView, 131},
		{"facebook ios", uaFacebookIOS, "", classWebKit, familyWebView, 0},
		{"instagram android", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Instagram 357.0.0.25.101 Android (34/14; 480dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; en_US; 662944246)", "", classBlink, familyWebView, 131},
		{"instagram ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 339.0.3.12.91 (iPhone14,5; iOS 17_5; en_US; en; scale=3.00; 1170x2532; 622193227)", "", classWebKit, familyWebView, 0},
		{"line android", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Line/14.19.1/IAB", "", classBlink, familyWebView, 131},
		{"line ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/14.10.0", "", classWebKit, familyWebView, 0},
		{"wechat android", "Mozilla/5.0 (Linux; Android 14; V2307A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.103 Mobile Safari/537.36 XWEB/1300259 MMWEBSDK/20241103 MMWEBID/6533 MicroMessenger/8.0.55.2780(0x28003737) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64", "", classBlink, familyWebView, 130},
		{"wechat ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN", "", classWebKit, familyWebView, 0},
		{"ipados app web view", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "", classWebKit, familyWebView, 0},

		// Crawlers and programs.
		{"googlebot", uaGooglebot, "", classBot, familyBot, 2},
		{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", classBot, familyBot, 2},
		{"googlebot desktop", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36", "", classBot, familyBot, 2},
		{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "", classBot, familyBot, 2},
		{"bingbot desktop", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36", "", classBot, familyBot, 2},
		{"applebot", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", "", classBot, familyBot, 0},
		{"curl", "curl/8.5.0", "", classCurl, familyCurl, 8},
		{"go", "Go-http-client/1.1", "", classGo, familyGo, 1},
		{"go h2", "Go-http-client/2.0", "", classGo, familyGo, 2},
		{"python", "python-requests/2.32.3", "", classUnknown, familyOther, 0},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "", classBlink, familyChrome, 131},

		// Hostile and broken headers.
		{"empty", "", "", classUnknown, familyOther, 0},
		{"garbage", "\x00\xff<script>", "", classUnknown, familyOther, 0},
		{"curl not at the start", "evil curl/8.0", "", classUnknown, familyOther, 0},
		{"no version", "Firefox/", "", classGecko, familyFirefox, 0},
		{"huge version", "Chrome/99999999999999999999999", "", classBlink, familyChrome, 99999},
		{"negative version", "Firefox/-5", "", classGecko, familyFirefox, 0},
		{"marker past the cap", strings.Repeat("x", maxUserAgent) + "Firefox/133.0", "", classUnknown, familyOther, 0},
		{"huge", strings.Repeat("Chrome/1 ", 100000), "", classBlink, familyChrome, 1},
		{"hints on curl", "curl/8.5.0", hintsChrome131, classCurl, familyCurl, 8},
		{"hints on a bot", uaGooglebot, hintsChrome131, classBot, familyBot, 2},
		{"hints without user agent", "", hintsEdge131, classBlink, familyEdge, 131},
		{"hints and a rewritten user agent", uaFirefox133, hintsChrome131, classBlink, familyChrome, 131},
		{"only chromium, not a chromium user agent", uaFirefox133, `"Chromium";v="131"`, classBlink, familyChromium, 131},
		{"malformed hints", uaChrome131, `"Google Chrome";v="131", "Not_A Brand`, classBlink, familyChrome, 131},
		{"malformed hints on firefox", uaFirefox133, `"Google Chrome";v="131",`, classGecko, familyFirefox, 133},
		{"grease only", uaFirefox133, `"Not)A;Brand";v="99"`, classGecko, familyFirefox, 133},
		{"unknown brand", uaChrome131, `"Yandex";v="24", "Not_A Brand";v="8"`, classBlink, familyChrome, 131},
		{"hints too long", uaChrome131, `"Microsoft Edge";v="131"` + strings.Repeat(`, "x"`, 100), classBlink, familyChrome, 131},
		{"escaped brand", uaChrome131, `"Microsoft\"Edge";v="131"`, classBlink, familyChrome, 131},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("User-Agent", tt.ua)
			if tt.hints != "" {
				h.Set("Sec-CH-UA", tt.hints)
			}
			ua := tt.ua[:min(len(tt.ua), maxUserAgent)]
			for _, g1 := range []bool{false, true} {
				r, at := firstRule(ua, g1)
				if nr, nat := naiveFirstRule(ua, g1); r != nr || at != nat {
					t.Fatalf("firstRule(g1 %v) = %d at %d, the obvious search %d at %d", g1, r, at, nr, nat)
				}
			}
			c := clientOf(h)
			if c.class != tt.class || c.family != tt.family || c.major != tt.major {
				t.Fatalf("clientOf: got %s %s %d, want %s %s %d", c.class, c.family, c.major, tt.class, tt.family, tt.major)
			}
			if tt.hints != "" {
				return
			}
			if f, m, cl := parseUserAgent(tt.ua, false); f != tt.family || m != tt.major || cl != tt.class {
				t.Fatalf("parseUserAgent: got %s %d %s, want %s %d %s", f, m, cl, tt.family, tt.major, tt.class)
			}
		})
	}
}

// TestUserAgentG1Reading: the g1 reading of uaRules gives what the g1
// format's parser gave, for headers whose reading has changed since.
func TestUserAgentG1Reading(t *testing.T) {
	tests := []struct {
		name, ua string
		family   family
		major    int
	}{
		{"samsung internet", uaSamsung, familyOther, 0},
		{"android web view", uaAndroidWebViewFB, familyChrome, 131},
		{"facebook ios", uaFacebookIOS, familyOther, 0},
		{"google app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1", familySafari, 0},
		{"opera ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1 OPT/5.0.7", familySafari, 18},
		{"googlebot", uaGooglebot, familyOther, 0},
		{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", familyChrome, 131},
		{"internet explorer", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", familyOther, 0},
		{"presto opera without version", "Opera/9.64 (Windows NT 5.1; U; en) Presto/2.1.1", familyOpera, 9},
		{"chrome", uaChrome131, familyChrome, 131},
		{"empty", "", familyOther, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, m, _ := parseUserAgent(tt.ua, true)
			if f != tt.family || m != tt.major {
				t.Fatalf("g1 reading: got %s %d, want %s %d", f, m, tt.family, tt.major)
			}
		})
	}
}

func TestClassStrings(t *testing.T) {
	if len(classNames) != int(numClasses) || len(familyNames) != int(numFamilies) {
		t.Fatal("a class or family has no name")
	}
	for _, c := range []struct{ got, want string }{
		{classBlink.String(), "blink"}, {classWebKit.String(), "webkit"}, {class(200).String(), "invalid"},
		{familySamsung.String(), "samsung"}, {familyWebView.String(), "webview"}, {familyBot.String(), "bot"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// naiveFirstRule is firstRule written the obvious way, to check it against.
func naiveFirstRule(ua string, g1 bool) (int, int) {
	for i, r := range uaRules {
		if g1 && r.g1 == g1None {
			continue
		}
		if r.prefix {
			if strings.HasPrefix(ua, r.marker) {
				return i, 0
			}
		} else if at := strings.Index(ua, r.marker); at >= 0 {
			return i, at
		}
	}
	return len(uaRules), 0
}

// FuzzUserAgent checks the invariants of the User-Agent reading: the family
// and class are known ones, the version is in 0..99999, only the first
// maxUserAgent bytes count, the g1 reading stays within the g1 families,
// a family is only given for a header that contains one of its markers, and
// the rule found is the one the obvious search finds.
func FuzzUserAgent(f *testing.F) {
	for _, s := range []string{uaChrome131, uaFirefox133, uaSafariIPhone, uaCriOSDesktop, uaSamsung, uaAndroidWebViewFB, uaFacebookIOS,
		uaGooglebot, "curl/8.5.0", "Go-http-client/1.1", "Opera/9.80 Presto Version/12.1", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		for _, g1 := range []bool{false, true} {
			r, at := firstRule(ua, g1)
			nr, nat := naiveFirstRule(ua, g1)
			if r != nr || (r < len(uaRules) && at != nat) {
				t.Fatalf("firstRule(%q, %v) = %d at %d, the obvious search %d at %d", ua, g1, r, at, nr, nat)
			}
		}
		fam, major, cl := parseUserAgent(ua, false)
		if fam >= numFamilies || cl >= numClasses || major < 0 || major > 99999 {
			t.Fatalf("parseUserAgent(%q) = %d %d %d", ua, fam, major, cl)
		}
		if len(ua) > maxUserAgent {
			f2, m2, c2 := parseUserAgent(ua[:maxUserAgent], false)
			if f2 != fam || m2 != major || c2 != cl {
				t.Fatalf("bytes past maxUserAgent changed the reading of %q", ua)
			}
		}
		g1, m1, _ := parseUserAgent(ua, true)
		if g1 >= numFamiliesG1 || m1 < 0 || m1 > 99999 {
			t.Fatalf("g1 reading of %q = %d %d", ua, g1, m1)
		}
		if fam != familyOther {
			found := false
			for _, r := range uaRules {
				if r.family == fam && strings.Contains(ua, r.marker) {
					found = true
				}
			}
			if !found {
				t.Fatalf("parseUserAgent(%q) = %s without one of its markers", ua, fam)
			}
		}
	})
}
