package client

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

type dateCase struct {
	Test     string  `json:"test"`
	Expected *string `json:"expected"`
}

// TestCookieDateVectors runs the suite's cookie-date vectors through the
// RFC 6265 §5.1.1 algorithm.
func TestCookieDateVectors(t *testing.T) {
	for _, file := range []string{"examples.json", "bsd-examples.json"} {
		data, err := os.ReadFile("testdata/http-state/dates/" + file)
		if err != nil {
			t.Fatal(err)
		}
		// bsd-examples.json starts with its licence as // comments.
		var body bytes.Buffer
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("//")) {
				body.Write(line)
			}
		}
		var cases []dateCase
		if err := json.Unmarshal(body.Bytes(), &cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no case", file)
		}
		for _, c := range cases {
			got, ok := parseCookieDate(c.Test)
			switch {
			case c.Expected == nil && ok:
				t.Errorf("%s: parseCookieDate(%q) = %v, want failure", file, c.Test, got)
			case c.Expected != nil && !ok:
				t.Errorf("%s: parseCookieDate(%q) failed, want %s", file, c.Test, *c.Expected)
			case c.Expected != nil && got.Format(http.TimeFormat) != *c.Expected:
				t.Errorf("%s: parseCookieDate(%q) = %s, want %s", file, c.Test, got.Format(http.TimeFormat), *c.Expected)
			}
		}
	}
}

// TestParseSetCookie checks the steps of RFC 6265 §5.2, hostile rows
// included.
func TestParseSetCookie(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want setCookie
	}{
		{"foo=bar", true, setCookie{name: "foo", value: "bar"}},
		{" \tfoo \t= \tbar baz\t ;", true, setCookie{name: "foo", value: "bar baz"}},
		{"foo=", true, setCookie{name: "foo"}},
		{"foo==bar=", true, setCookie{name: "foo", value: "=bar="}},
		{`foo="bar"`, true, setCookie{name: "foo", value: `"bar"`}},
		{"foo", false, setCookie{}},
		{"=bar", false, setCookie{}},
		{" \t=bar", false, setCookie{}},
		{"", false, setCookie{}},
		{";foo=bar", false, setCookie{}},
		{"a=b; Max-Age=10; max-age=x; MAX-AGE=+5", true, setCookie{name: "a", value: "b", maxAge: 10, hasMaxAge: true}},
		{"a=b; Max-Age=-7", true, setCookie{name: "a", value: "b", maxAge: -7, hasMaxAge: true}},
		{"a=b; Max-Age=-", true, setCookie{name: "a", value: "b"}},
		{"a=b; Max-Age=99999999999999999999999999", true, setCookie{name: "a", value: "b", maxAge: math.MaxInt64, hasMaxAge: true}},
		{"a=b; Domain=.Example.COM; Domain=", true, setCookie{name: "a", value: "b", domain: "example.com"}},
		{"a=b; Domain=..x", true, setCookie{name: "a", value: "b", domain: ".x"}},
		{"a=b; Path=/p; Path=q", true, setCookie{name: "a", value: "b"}},
		{"a=b; Path=q; path = /p ", true, setCookie{name: "a", value: "b", path: "/p"}},
		{"a=b; Secure=no; HTTPONLY", true, setCookie{name: "a", value: "b", secure: true, httpOnly: true}},
		{"a=b; SameSite=lax", true, setCookie{name: "a", value: "b", sameSite: "Lax"}},
		{"a=b; SameSite=STRICT; samesite=bogus", true, setCookie{name: "a", value: "b", sameSite: "Strict"}},
		{"a=b; Expires=bogus", true, setCookie{name: "a", value: "b"}},
		{"a=b; Expires=Wed, 09 Jun 2021 10:18:14 GMT", true, setCookie{name: "a", value: "b",
			expires: time.Date(2021, time.June, 9, 10, 18, 14, 0, time.UTC)}},
		{"a=b;;;=;x", true, setCookie{name: "a", value: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := parseSetCookie(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseSetCookie(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestParseCookieDateHostile covers what the vectors do not: dates that do
// not exist, limits, and a missing part.
func TestParseCookieDateHostile(t *testing.T) {
	for _, s := range []string{
		"", "31 Apr 2020 00:00:00", "29 Feb 2021 00:00:00", "1 Jan 1600 00:00:00",
		"0 Jan 2020 00:00:00", "1 Jan 2020 24:00:00", "1 Jan 2020 00:60:00",
		"1 Jan 2020 00:00:60", "1 Jan 2020", "Jan 2020 00:00:00", "1 2020 00:00:00",
		"1 Jan 00:00:00", "001 Jan 2020 00:00:00", "1 Jan 20201 00:00:00",
	} {
		if got, ok := parseCookieDate(s); ok {
			t.Errorf("parseCookieDate(%q) = %v, want failure", s, got)
		}
	}
	got, ok := parseCookieDate("29 Feb 2024 23:59:59")
	if want := time.Date(2024, time.February, 29, 23, 59, 59, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("parseCookieDate(29 Feb 2024) = %v, %v; want %v", got, ok, want)
	}
}

// formatSetCookie writes c back as a Set-Cookie line that parses to c.
func formatSetCookie(c setCookie) string {
	var b strings.Builder
	b.WriteString(c.name + "=" + c.value)
	if !c.expires.IsZero() {
		b.WriteString("; Expires=" + c.expires.Format(http.TimeFormat))
	}
	if c.hasMaxAge {
		b.WriteString("; Max-Age=" + strconv.FormatInt(c.maxAge, 10))
	}
	if c.domain != "" {
		b.WriteString("; Domain=." + c.domain)
	}
	if c.path != "" {
		b.WriteString("; Path=" + c.path)
	}
	if c.secure {
		b.WriteString("; Secure")
	}
	if c.httpOnly {
		b.WriteString("; HttpOnly")
	}
	if c.sameSite != "" {
		b.WriteString("; SameSite=" + c.sameSite)
	}
	return b.String()
}

// FuzzParseSetCookie checks the invariants of the parser and of a jar fed
// the line: a parsed cookie has a non-empty, trimmed name without ";" or
// "=", a trimmed value without ";", and writing it back parses to the
// same cookie; the Cookie header the jar then sends holds no control
// character, so no Set-Cookie line can split a later request's headers.
func FuzzParseSetCookie(f *testing.F) {
	for _, c := range loadHTTPStateCases(f) {
		for _, line := range c.Received {
			f.Add(line)
		}
	}
	f.Add("a=b; Max-Age=99999999999999999999; Domain=..X; Path=/p; SameSite=none; Expires=1 Jan 1601 00:00:00")
	u, _ := url.Parse("https://www.example.com/a/b")
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := parseSetCookie(line)
		if ok {
			if c.name == "" || strings.ContainsAny(c.name, ";=") || strings.ContainsRune(c.value, ';') ||
				trimWSP(c.name) != c.name || trimWSP(c.value) != c.value {
				t.Fatalf("parseSetCookie(%q) = %+v", line, c)
			}
			again := formatSetCookie(c)
			c2, ok2 := parseSetCookie(again)
			if !ok2 || c2 != c {
				t.Fatalf("round trip of %q through %q: %+v, %v; want %+v", line, again, c2, ok2, c)
			}
		}
		j, err := OpenCookieJar("", nil)
		if err != nil {
			t.Fatal(err)
		}
		j.now = func() time.Time { return suiteNow }
		j.SetCookieLines(u, []string{line})
		h := j.CookieHeader(u)
		if hasCTL(h) {
			t.Fatalf("Cookie header %q from %q holds a control character", h, line)
		}
		if n := len(j.All()); n > 1 || n == 1 && !ok {
			t.Fatalf("%q stored %d cookies (parsed: %v)", line, n, ok)
		}
	})
}
