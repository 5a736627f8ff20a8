// Package cookiehdr finds cookies by name in the Cookie header lines of a
// request without allocating (http.Request.Cookie and CookiesNamed parse
// and allocate every cookie), for the session middleware and the CSRF
// protector. What to do with a cookie sent twice is the caller's policy.
package cookiehdr

import (
	"iter"
	"strings"
)

// Values yields, in order, the value of each cookie called name in the
// Cookie header lines, as sent (surrounding quotes included).
func Values(lines []string, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for line != "" {
				var part string
				part, line, _ = strings.Cut(line, ";")
				n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
				if ok && n == name && !yield(v) {
					return
				}
			}
		}
	}
}
