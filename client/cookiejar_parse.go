// The Set-Cookie parser of CookieJar: RFC 6265 §5.2 step by step, and the
// cookie-date algorithm of §5.1.1.

package client

import (
	"math"
	"strings"
	"time"
)

// setCookie is one Set-Cookie header parsed by RFC 6265 §5.2: the name and
// value, and the attributes this jar knows, each the last one given (§5.3
// uses the last attribute of each name). Attributes the jar does not know
// are dropped, as §5.2 says.
type setCookie struct {
	name, value string

	// expires is the zero time unless a valid Expires attribute was given.
	expires time.Time
	// maxAge is set when hasMaxAge; a value ≤ 0 means "expire now".
	maxAge    int64
	hasMaxAge bool
	// domain is the Domain attribute lowercased with one leading dot
	// removed, or "" when none (or only empty ones) was given.
	domain string
	// path is the Path attribute, or "" when none was given or it did not
	// start with "/" (the caller then uses the default-path).
	path     string
	secure   bool
	httpOnly bool
	// sameSite is "Strict", "Lax" or "None" when the attribute said so
	// (case-insensitively), else "".
	sameSite string
}

// trimWSP removes leading and trailing WSP (space and horizontal tab) as
// RFC 6265 §5.2 steps 4 and 3 of the attribute loop ask; strings.TrimSpace
// would also remove other white space that the RFC keeps.
func trimWSP(s string) string { return strings.Trim(s, " \t") }

// parseSetCookie parses one set-cookie-string by RFC 6265 §5.2. It returns
// false when the algorithm says to ignore the string entirely.
func parseSetCookie(line string) (setCookie, bool) {
	// Step 1: the name-value-pair is everything up to the first ";".
	nameValue, attrs, _ := strings.Cut(line, ";")
	// Step 2: a pair without "=" is ignored.
	name, value, ok := strings.Cut(nameValue, "=")
	if !ok {
		return setCookie{}, false
	}
	// Steps 3-5: trim WSP; an empty name is ignored.
	c := setCookie{name: trimWSP(name), value: trimWSP(value)}
	if c.name == "" {
		return setCookie{}, false
	}
	// The attribute loop of §5.2: split the rest at ";", each cookie-av at
	// its first "=", trim WSP, match the name case-insensitively.
	for attrs != "" {
		var av string
		av, attrs, _ = strings.Cut(attrs, ";")
		k, v, _ := strings.Cut(av, "=")
		k, v = trimWSP(k), trimWSP(v)
		switch strings.ToLower(k) {
		case "expires": // §5.2.1: an unparsable date ignores the attribute
			if t, ok := parseCookieDate(v); ok {
				c.expires = t
			}
		case "max-age": // §5.2.2
			if n, ok := parseMaxAge(v); ok {
				c.maxAge, c.hasMaxAge = n, true
			}
		case "domain": // §5.2.3: an empty value ignores the attribute
			if v == "" {
				continue
			}
			c.domain = strings.ToLower(strings.TrimPrefix(v, "."))
		case "path": // §5.2.4: not starting with "/" means the default-path
			if strings.HasPrefix(v, "/") {
				c.path = v
			} else {
				c.path = ""
			}
		case "secure": // §5.2.5: the value is ignored
			c.secure = true
		case "httponly": // §5.2.6
			c.httpOnly = true
		case "samesite": // RFC 6265bis §5.6.7: an unknown value is dropped
			switch strings.ToLower(v) {
			case "strict":
				c.sameSite = "Strict"
			case "lax":
				c.sameSite = "Lax"
			case "none":
				c.sameSite = "None"
			}
		}
	}
	return c, true
}

// parseMaxAge reads a Max-Age value by RFC 6265 §5.2.2: an optional "-"
// then only digits; anything else ignores the attribute. A value too large
// for int64 saturates at math.MaxInt64, since it only means "very far in
// the future".
func parseMaxAge(v string) (int64, bool) {
	digits := strings.TrimPrefix(v, "-")
	if digits == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		b := digits[i]
		if b < '0' || b > '9' {
			return 0, false
		}
		if d := int64(b - '0'); n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	if len(digits) < len(v) {
		return -n, true
	}
	return n, true
}

// isDateDelimiter reports whether b is a delimiter of RFC 6265 §5.1.1:
// %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E.
func isDateDelimiter(b byte) bool {
	return b == 0x09 || (b >= 0x20 && b <= 0x2f) || (b >= 0x3b && b <= 0x40) ||
		(b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e)
}

// leadingDigits returns the number made of s's leading ASCII digits and how
// many there were, reading at most max of them.
func leadingDigits(s string, max int) (n, count int) {
	for count < len(s) && count < max && s[count] >= '0' && s[count] <= '9' {
		n = n*10 + int(s[count]-'0')
		count++
	}
	return n, count
}

// digitsThenNonDigit reports whether token is min to max digits followed by
// nothing or by a non-digit (then anything), the shape of day-of-month,
// year and time-field in RFC 6265 §5.1.1, and returns the number.
func digitsThenNonDigit(token string, min, max int) (int, string, bool) {
	n, count := leadingDigits(token, max)
	if count < min {
		return 0, "", false
	}
	rest := token[count:]
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return 0, "", false
	}
	return n, rest, true
}

// parseHMSTime matches hms-time of RFC 6265 §5.1.1: time-field ":"
// time-field ":" time-field, then optionally a non-digit and anything.
func parseHMSTime(token string) (h, m, s int, ok bool) {
	var fields [3]int
	rest := token
	for i := range fields {
		n, count := leadingDigits(rest, 2)
		if count == 0 {
			return 0, 0, 0, false
		}
		fields[i], rest = n, rest[count:]
		if i < 2 {
			if !strings.HasPrefix(rest, ":") {
				return 0, 0, 0, false
			}
			rest = rest[1:]
		}
	}
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return 0, 0, 0, false
	}
	return fields[0], fields[1], fields[2], true
}

var cookieMonths = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseCookieDate is the cookie-date algorithm of RFC 6265 §5.1.1. It
// returns false where the algorithm says "fail", including for dates that
// do not exist (31 April).
func parseCookieDate(s string) (time.Time, bool) {
	var (
		foundTime, foundDay, foundMonth, foundYear bool
		hour, minute, second, day, year            int
		month                                      time.Month
	)
	for s != "" {
		// Step 1: split into date-tokens at runs of delimiters.
		i := 0
		for i < len(s) && isDateDelimiter(s[i]) {
			i++
		}
		s = s[i:]
		i = 0
		for i < len(s) && !isDateDelimiter(s[i]) {
			i++
		}
		token := s[:i]
		s = s[i:]
		if token == "" {
			continue
		}
		// Step 2: each token is tried as time, day, month, year in turn,
		// each only until it has been found once.
		if !foundTime {
			if h, m, sec, ok := parseHMSTime(token); ok {
				foundTime, hour, minute, second = true, h, m, sec
				continue
			}
		}
		if !foundDay {
			if n, _, ok := digitsThenNonDigit(token, 1, 2); ok {
				foundDay, day = true, n
				continue
			}
		}
		if !foundMonth && len(token) >= 3 {
			prefix := strings.ToLower(token[:3])
			for i, name := range cookieMonths {
				if prefix == name {
					foundMonth, month = true, time.Month(i+1)
					break
				}
			}
			if foundMonth {
				continue
			}
		}
		if !foundYear {
			if n, _, ok := digitsThenNonDigit(token, 2, 4); ok {
				foundYear, year = true, n
				continue
			}
		}
	}
	// Steps 3 and 4: two-digit years.
	if year >= 70 && year <= 99 {
		year += 1900
	} else if year >= 0 && year <= 69 {
		year += 2000
	}
	// Step 5: fail on anything missing or out of range.
	if !foundTime || !foundDay || !foundMonth || !foundYear ||
		day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, month, day, hour, minute, second, 0, time.UTC)
	if t.Day() != day { // time.Date normalised a day the month lacks
		return time.Time{}, false
	}
	return t, true
}
