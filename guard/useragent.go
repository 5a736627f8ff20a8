package guard

import "strings"

// Family is a user-agent family: the browser or client program, without its
// version.
type Family uint8

// The families ParseUserAgent tells apart. Any other client is FamilyOther.
const (
	FamilyOther Family = iota
	FamilyChrome
	FamilyChromium
	FamilyEdge
	FamilyFirefox
	FamilySafari
	FamilyOpera
	FamilyCurl
	FamilyGo

	numFamilies = iota
)

var familyNames = [...]string{"other", "chrome", "chromium", "edge", "firefox", "safari", "opera", "curl", "go-http-client"}

// String returns the family's lowercase name, such as "firefox".
func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "other"
}

// maxUserAgent caps how much of a User-Agent header is looked at. Real ones
// are a few hundred bytes; the cap bounds the work an attacker can cause.
const maxUserAgent = 1024

// uaRules are tried in order; the first marker found decides the family.
// Order matters because browsers borrow each other's names: Edge and Opera
// send "Chrome/" and "Safari/", Chrome sends "Safari/", Chromium sends
// "Chrome/", and the iOS browsers (all WebKit) send "Safari/".
var uaRules = []struct {
	marker string
	family Family
	prefix bool   // marker must start the header (command-line clients)
	major  string // the marker whose number is the major version ("" = marker)
}{
	{"Edg/", FamilyEdge, false, ""},
	{"EdgA/", FamilyEdge, false, ""},
	{"EdgiOS/", FamilyEdge, false, ""},
	{"Edge/", FamilyEdge, false, ""},
	{"OPR/", FamilyOpera, false, ""},
	{"OPiOS/", FamilyOpera, false, ""},
	{"Opera/", FamilyOpera, false, "Version/"},
	{"SamsungBrowser/", FamilyOther, false, ""},
	{"Chromium/", FamilyChromium, false, ""},
	{"CriOS/", FamilyChrome, false, ""},
	{"Chrome/", FamilyChrome, false, ""},
	{"FxiOS/", FamilyFirefox, false, ""},
	{"Firefox/", FamilyFirefox, false, ""},
	{"Safari/", FamilySafari, false, "Version/"},
	{"curl/", FamilyCurl, true, ""},
	{"Go-http-client/", FamilyGo, true, ""},
}

// ParseUserAgent returns the family and major version of a User-Agent
// header, such as FamilyFirefox and 128 for a Firefox 128.0 header. Unknown
// clients are FamilyOther; an unknown version is 0. It does not allocate.
// A User-Agent is whatever the client says: use it to notice a change, never
// to authenticate.
func ParseUserAgent(ua string) (Family, int) {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	for _, rule := range uaRules {
		var i int
		if rule.prefix {
			if !strings.HasPrefix(ua, rule.marker) {
				continue
			}
		} else if i = strings.Index(ua, rule.marker); i < 0 {
			continue
		}
		if rule.family == FamilyOther {
			return FamilyOther, 0
		}
		v := ua[i+len(rule.marker):]
		if rule.major != "" {
			if j := strings.Index(ua, rule.major); j >= 0 {
				v = ua[j+len(rule.major):]
			} else if rule.family == FamilySafari {
				v = "" // WebKit's "Safari/605.1.15" is not Safari's version
			}
		}
		return rule.family, leadingInt(v)
	}
	return FamilyOther, 0
}

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
