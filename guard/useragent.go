package guard

import "strings"

// family is a user-agent family: the browser or client program, without its
// version.
type family uint8

// The families parseUserAgent tells apart. Any other client is familyOther.
// The numbers are part of the fingerprint format, so new families are added
// at the end.
const (
	familyOther family = iota
	familyChrome
	familyChromium
	familyEdge
	familyFirefox
	familySafari
	familyOpera
	familyCurl
	familyGo
	// familySamsung is Samsung Internet, in any mode.
	familySamsung
	// familyBrave is Brave. Its User-Agent is Chrome's; only its client hints
	// (Sec-CH-UA) name it, so parseUserAgent never returns it.
	familyBrave
	// familyWebView is a browser embedded in an app: an Android WebView, or
	// an in-app view on iOS (Facebook, Instagram, LINE, WeChat, the Google
	// app).
	familyWebView
	// familyBot is a search-engine crawler (Googlebot, Bingbot, ...).
	familyBot

	numFamilies = iota
)

// numFamiliesG1 is how many families the g1 fingerprint format knew.
const numFamiliesG1 = familyGo + 1

var familyNames = [...]string{"other", "chrome", "chromium", "edge", "firefox", "safari", "opera", "curl", "go-http-client",
	"samsung", "brave", "webview", "bot"}

// String returns the family's lowercase name, such as "firefox".
func (f family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "other"
}

// class is what the browser signal records: the rendering engine of a
// browser, or the kind of program that is not one. It is coarse on purpose,
// so that one browser stays in one class whatever it claims to be running
// on. A platform is not part of it, because the modes browsers offer rewrite
// the platform: "request desktop site" turns an iPhone or iPad into a
// Macintosh and an Android phone into X11 Linux, and Samsung Internet's
// desktop mode reads like desktop Chrome. The engine survives all of these;
// the family and version, which do not, are the version signal.
type class uint8

const (
	// classUnknown: no engine recognised (empty, garbage, an unknown program).
	classUnknown class = iota
	// classBlink: Chromium-based browsers (Chrome, Edge, Opera, Brave,
	// Samsung Internet, Android WebViews), in any mode and on any platform
	// except iOS.
	classBlink
	// classGecko: Firefox, except on iOS.
	classGecko
	// classWebKit: Safari, and every browser and in-app view on iOS and
	// iPadOS, which must all use WebKit, in their mobile and desktop modes.
	classWebKit
	// classLegacy: EdgeHTML, Presto and Trident browsers.
	classLegacy
	classCurl
	classGo
	classBot

	numClasses = iota
)

var classNames = [numClasses]string{"unknown", "blink", "gecko", "webkit", "legacy", "curl", "go-http-client", "bot"}

func (c class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "invalid"
}

// maxUserAgent caps how much of a User-Agent header is looked at. Real ones
// are a few hundred bytes; the cap bounds the work an attacker can cause.
const maxUserAgent = 1024

// g1None marks a rule that the g1 fingerprint format did not have.
const g1None family = 255

// uaRules: the first rule, in this order, whose marker the header contains
// decides the family and the class. Order matters because browsers borrow each other's names:
// crawlers send a browser's tokens, Edge and Opera send "Chrome/" and
// "Safari/", Samsung Internet and Android WebViews send "Chrome/", Chrome
// sends "Safari/", and the iOS browsers (all WebKit) send "Safari/".
//
// The g1 column is what the g1 fingerprint format made of the marker, so that
// a stored g1 fingerprint is compared exactly as it was made: a g1 reading
// skips the rules marked g1None, and a rule whose g1 family is familyOther
// ends the reading with version 0.
var uaRules = [...]struct {
	marker string
	family family
	class  class
	g1     family
	major  string // the marker whose number is the major version ("" = marker)
	prefix bool   // marker must start the header (command-line clients)
}{
	{"Googlebot/", familyBot, classBot, g1None, "", false},
	{"bingbot/", familyBot, classBot, g1None, "", false},
	{"Applebot/", familyBot, classBot, g1None, "", false},
	{"DuckDuckBot/", familyBot, classBot, g1None, "", false},
	{"YandexBot/", familyBot, classBot, g1None, "", false},
	{"Baiduspider/", familyBot, classBot, g1None, "", false},
	{"Edg/", familyEdge, classBlink, familyEdge, "", false},
	{"EdgA/", familyEdge, classBlink, familyEdge, "", false},
	{"EdgiOS/", familyEdge, classWebKit, familyEdge, "", false},
	{"Edge/", familyEdge, classLegacy, familyEdge, "", false},
	{"OPR/", familyOpera, classBlink, familyOpera, "", false},
	{"OPiOS/", familyOpera, classWebKit, familyOpera, "", false},
	{"OPT/", familyOpera, classWebKit, g1None, "", false},
	{"Opera/", familyOpera, classLegacy, familyOpera, "Version/", false},
	{"SamsungBrowser/", familySamsung, classBlink, familyOther, "", false},
	{"; wv)", familyWebView, classBlink, g1None, "Chrome/", false},
	{"GSA/", familyWebView, classWebKit, g1None, "", false},
	{"Chromium/", familyChromium, classBlink, familyChromium, "", false},
	{"CriOS/", familyChrome, classWebKit, familyChrome, "", false},
	{"Chrome/", familyChrome, classBlink, familyChrome, "", false},
	{"FxiOS/", familyFirefox, classWebKit, familyFirefox, "", false},
	{"Firefox/", familyFirefox, classGecko, familyFirefox, "", false},
	{"Safari/", familySafari, classWebKit, familySafari, "Version/", false},
	// Safari and every browser on iOS name themselves: a WebKit header that
	// names nothing is an app's web view (Instagram or WeChat on iOS, or any
	// app on iPadOS and macOS, whose web views claim a Macintosh).
	{"AppleWebKit/", familyWebView, classWebKit, g1None, "Version/", false},
	{"Trident/", familyOther, classLegacy, g1None, "", false},
	{"curl/", familyCurl, classCurl, familyCurl, "", true},
	{"Go-http-client/", familyGo, classGo, familyGo, "", true},
}

// parseUserAgent returns the family, major version and class of a
// User-Agent header, such as familyFirefox, 128 and classGecko for a Firefox
// 128.0 header on Linux. Unknown clients are familyOther; an unknown version
// is 0. An in-app view's version is its engine's where the header has one
// (an Android WebView's Chrome/), else the app's or 0. With g1 it reads the
// rules as the g1 fingerprint format did (the class is then meaningless). It
// does not allocate. A User-Agent is whatever the client says: it serves to
// notice a change, never to authenticate.
func parseUserAgent(ua string, g1 bool) (family, int, class) {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	i, at := firstRule(ua, g1)
	if i == len(uaRules) {
		return familyOther, 0, classUnknown
	}
	rule := &uaRules[i]
	fam := rule.family
	if g1 {
		fam = rule.g1
	}
	if fam == familyOther {
		return familyOther, 0, rule.class
	}
	v := ua[at+len(rule.marker):]
	if rule.major != "" {
		if j := strings.Index(ua, rule.major); j >= 0 {
			v = ua[j+len(rule.major):]
		} else if rule.class == classWebKit {
			v = "" // the marker's number is WebKit's build (Safari/605.1.15), not a version
		}
	}
	return fam, leadingInt(v), rule.class
}

// firstRule returns the index of the first rule of uaRules (in the g1
// reading with g1) whose marker ua contains, and where the marker first
// occurs; len(uaRules) when there is none. It is the loop "for each rule,
// strings.Index(ua, marker)" without its cost growing with the rules: most
// markers are a product name and "/", so it visits each "/" of ua once and
// tries only the rules whose marker ends there (slashRules).
func firstRule(ua string, g1 bool) (best, at int) {
	usable := func(r int) bool { return !g1 || uaRules[r].g1 != g1None }
	best = len(uaRules)
	for i := 0; ; i++ {
		j := strings.IndexByte(ua[i:], '/')
		if j < 0 {
			break
		}
		if i += j; i == 0 {
			continue
		}
		for _, r := range slashRules[ua[i-1]] {
			m := uaRules[r].marker
			if int(r) < best && usable(int(r)) && i+1 >= len(m) && ua[i+1-len(m):i+1] == m {
				best, at = int(r), i+1-len(m)
			}
		}
	}
	for _, r := range otherRules {
		if int(r) >= best || !usable(int(r)) {
			continue
		}
		if m := uaRules[r].marker; uaRules[r].prefix {
			if strings.HasPrefix(ua, m) {
				return int(r), 0
			}
		} else if k := strings.Index(ua, m); k >= 0 {
			return int(r), k
		}
	}
	return best, at
}

// slashRules lists, for each byte b, the rules whose marker is "...b/" and
// may be anywhere in the header; otherRules are the rest, in order.
var slashRules, otherRules = func() (slash [256][]uint8, other []uint8) {
	for i, r := range uaRules {
		if n := len(r.marker); !r.prefix && n >= 2 && r.marker[n-1] == '/' {
			slash[r.marker[n-2]] = append(slash[r.marker[n-2]], uint8(i))
		} else {
			other = append(other, uint8(i))
		}
	}
	return slash, other
}()

// leadingInt parses the decimal digits at the start of s, saturating at
// 99999 so that a long run of digits cannot overflow.
func leadingInt(s string) int {
	n := 0
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n = n*10 + int(s[i]-'0'); n > 99999 {
			return 99999
		}
	}
	return n
}
