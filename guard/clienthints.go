package guard

import "net/http"

// maxClientHint caps the Sec-CH-UA header that is parsed. Browsers send
// under 150 bytes; a longer header is ignored whole, like a malformed one.
const maxClientHint = 256

// brands are the Sec-CH-UA brands Keycard recognises. Any other brand is
// ignored, which takes care of GREASE: Chromium adds a made-up brand such as
// "Not_A Brand" or "Not)A;Brand" in a random position
// (https://wicg.github.io/ua-client-hints/#grease), and no made-up brand
// matches a real one.
var brands = [...]struct {
	name   string
	family family
}{
	{"Google Chrome", familyChrome},
	{"Microsoft Edge", familyEdge},
	{"Opera", familyOpera},
	{"Opera GX", familyOpera},
	{"Samsung Internet", familySamsung},
	{"Brave", familyBrave},
	{"Android WebView", familyWebView},
	{"Chromium", familyChromium},
}

// client is what a request says about its browser: the class the browser
// signal hashes, and the family and major version the version signal hashes.
type client struct {
	class  class
	family family
	major  int
}

// clientOf reads the client of a request from its User-Agent and, where the
// browser sends it, its Sec-CH-UA header.
//
// The hints are preferred because they are structured and because Chromium
// keeps them true in the cases where the User-Agent is not: Samsung
// Internet's desktop mode, or an extension that rewrites the User-Agent.
// Only Chromium-based browsers send them, so a recognised brand list means
// the Blink class, which is also what their User-Agent says: a session that
// logged in with hints and comes back without them (or the reverse) keeps its
// class, and in the common browsers its family and version too. A header
// that is malformed, too long or names no known brand is ignored and the
// User-Agent decides, as it does for browsers that send no hints. That fails
// neither open nor closed: such a client gets the verdict it would get by
// sending no hints, which any client may do, and the hints are no more
// trustworthy than the User-Agent anyway (both are whatever the client says).
//
// Sec-CH-UA-Mobile is deliberately not read: it turns from ?1 to ?0 when a
// phone asks for the desktop site, the change this design must not see.
func clientOf(h http.Header) client {
	fam, major, cl := parseUserAgent(h.Get("User-Agent"), false)
	if cl == classCurl || cl == classGo || cl == classBot {
		return client{cl, fam, major}
	}
	// One header line: browsers send one, and two would have to be joined.
	if v := h["Sec-Ch-Ua"]; len(v) == 1 {
		if hf, hm, ok := parseBrands(v[0]); ok {
			// A list that names only Chromium adds nothing to a
			// Chromium-based User-Agent (Vivaldi and others send no brand of
			// their own), so the User-Agent's family stands.
			if hf != familyChromium || cl != classBlink {
				fam, major = hf, hm
			}
			cl = classBlink
		}
	}
	return client{cl, fam, major}
}

// parseBrands returns the browser family a Sec-CH-UA header names and its
// major version. The header is an RFC 8941 list of strings, each with a "v"
// parameter: "Chromium";v="131", "Google Chrome";v="131", "Not_A
// Brand";v="24". The first recognised brand other than Chromium wins;
// Chromium only when no other is named. ok is false when the header is
// empty, longer than maxClientHint, not a list of strings, or names no
// recognised brand. It does not allocate.
func parseBrands(h string) (fam family, major int, ok bool) {
	if len(h) > maxClientHint {
		return 0, 0, false
	}
	// RFC 8941 §4.2 discards leading and trailing spaces; HTAB too here,
	// since an HTTP field value never keeps it at either end.
	p := sfParser{s: trimOWS(h)}
	if p.s == "" {
		return 0, 0, false
	}
	named := false // a brand other than Chromium was found
	for {
		brand, version, good := p.member()
		if !good {
			return 0, 0, false
		}
		switch f, known := brandFamily(brand); {
		case !known:
		case f != familyChromium && !named:
			fam, major, ok, named = f, leadingInt(version), true, true
		case f == familyChromium && !ok:
			fam, major, ok = f, leadingInt(version), true
		}
		// §4.2.1: optional white space, a comma, more white space, and
		// another member; a trailing comma is an error.
		p.skipOWS()
		if p.done() {
			return fam, major, ok
		}
		if !p.consume(',') {
			return 0, 0, false
		}
		p.skipOWS()
		if p.done() {
			return 0, 0, false
		}
	}
}

// brandFamily returns the family of a recognised brand.
func brandFamily(name string) (family, bool) {
	for _, b := range brands {
		if b.name == name {
			return b.family, true
		}
	}
	return familyOther, false
}

// sfParser reads RFC 8941 structured field values
// (https://www.rfc-editor.org/rfc/rfc8941; RFC 9651 keeps this syntax), as
// much of them as a brand list needs. Every method consumes its syntax or reports failure; a failure
// makes the whole field unusable (§4.2).
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) consume(c byte) bool {
	if p.peek() != c || p.done() {
		return false
	}
	p.i++
	return true
}

func (p *sfParser) skipSP() {
	for p.consume(' ') {
		continue
	}
}

func (p *sfParser) skipOWS() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// member reads a list member that is a string with parameters (§4.2.3) and
// returns the string as written (escapes left in, which no recognised brand
// contains) and the written value of its "v" parameter, "" when it has none
// or it is not a string. An inner list or any other bare item is a failure:
// it is not a brand list.
func (p *sfParser) member() (value, version string, ok bool) {
	if value, ok = p.str(); !ok {
		return "", "", false
	}
	// §4.2.3.2: parameters are ";" *SP key [ "=" bare-item ]; a later
	// parameter of the same name wins.
	for p.consume(';') {
		p.skipSP()
		key, ok := p.key()
		if !ok {
			return "", "", false
		}
		if !p.consume('=') {
			if key == "v" {
				version = "" // a boolean true
			}
			continue
		}
		v, isString, ok := p.bareItem()
		if !ok {
			return "", "", false
		}
		if key == "v" {
			version = ""
			if isString {
				version = v
			}
		}
	}
	return value, version, true
}

// str reads an sf-string (§4.2.5): DQUOTE, printable ASCII with "\"" and "\\"
// escaped, DQUOTE. It returns the characters between the quotes as written.
func (p *sfParser) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\':
			p.i++
			if c := p.peek(); c != '"' && c != '\\' {
				return "", false
			}
		case c < 0x20 || c > 0x7e:
			return "", false
		}
		p.i++
	}
	return "", false // no closing quote
}

// key reads a parameter key (§4.2.3.3): lcalpha or "*", then lcalpha, DIGIT,
// "_", "-", "." or "*".
func (p *sfParser) key() (string, bool) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return "", false
	}
	p.i++
	for !p.done() {
		c := p.s[p.i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	return p.s[start:p.i], true
}

// bareItem reads any bare item (§4.2.3.1) and returns it as written and
// whether it is a string (then without its quotes).
func (p *sfParser) bareItem() (v string, isString, ok bool) {
	start := p.i
	switch c := p.peek(); {
	case c == '"':
		v, ok = p.str()
		return v, true, ok
	case c == '-' || c >= '0' && c <= '9':
		ok = p.number()
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '*':
		p.i++ // §4.2.6: a token, then tchar, ":" or "/"
		for !p.done() && (isTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		ok = true
	case c == ':':
		p.i++ // §4.2.7: a byte sequence, base64 between colons
		for !p.done() && isBase64(p.s[p.i]) {
			p.i++
		}
		ok = p.consume(':')
	case c == '?':
		p.i++ // §4.2.8: a boolean
		ok = p.consume('0') || p.consume('1')
	}
	return p.s[start:p.i], false, ok
}

// number reads an integer (at most 15 digits) or a decimal (at most 12
// digits, a dot and 1 to 3 more), §4.2.4.
func (p *sfParser) number() bool {
	p.consume('-')
	digits := func() int {
		n := 0
		for !p.done() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	n := digits()
	if n == 0 || n > 15 {
		return false
	}
	if !p.consume('.') {
		return true
	}
	f := digits()
	return n <= 12 && f >= 1 && f <= 3
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
