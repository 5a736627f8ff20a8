package csrf

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const testHost = "example.com"

// quiet is a logger that drops everything, for tests that expect rejections.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newProtector(t testing.TB, opts *Options) *Protector {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// okHandler answers 200 "ok" and counts its calls.
type okHandler struct{ calls int }

func (h *okHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls++
	io.WriteString(w, "ok")
}

// browser is a minimal cookie-carrying client for one origin.
type browser struct {
	cookies map[string]string
}

func newBrowser() *browser { return &browser{cookies: map[string]string{}} }

func (b *browser) attach(r *http.Request) {
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
}

func (b *browser) absorb(res *http.Response) {
	for _, c := range res.Cookies() {
		b.cookies[c.Name] = c.Value
	}
}

// tokenPage serves a page that renders a token, as a login form would.
func tokenPage(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, Token(r))
}

// fetchToken GETs a page through p as b and returns the token it rendered.
func (b *browser) fetchToken(t testing.TB, p *Protector) string {
	t.Helper()
	r := httptest.NewRequest("GET", "https://"+testHost+"/form", nil)
	b.attach(r)
	w := httptest.NewRecorder()
	p.Handler(http.HandlerFunc(tokenPage)).ServeHTTP(w, r)
	res := w.Result()
	if res.StatusCode != 200 {
		t.Fatalf("GET /form: status %d", res.StatusCode)
	}
	b.absorb(res)
	tok := w.Body.String()
	if len(tok) != TokenLen {
		t.Fatalf("token length: got %d, want %d", len(tok), TokenLen)
	}
	return tok
}

// postForm builds a same-origin form POST carrying fields, as b.
func (b *browser) postForm(path string, fields url.Values) *http.Request {
	r := httptest.NewRequest("POST", "https://"+testHost+path, strings.NewReader(fields.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Origin", "https://"+testHost)
	b.attach(r)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
