package csrf

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type nopHandler struct{}

func (nopHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// discard is a ResponseWriter that keeps nothing, so that benchmarks measure
// the middleware rather than the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkCheckPOST: the whole middleware on a same-origin POST carrying a
// valid token in the header and the secret cookie.
func BenchmarkCheckPOST(b *testing.B) {
	p := newProtector(b, nil)
	br := newBrowser()
	tok := br.fetchToken(b, p)
	r := httptest.NewRequest("POST", "https://"+testHost+"/x", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("X-CSRF-Token", tok)
	br.attach(r)
	h := p.Handler(nopHandler{})
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkCheckGET: the middleware on a read request (nothing to check).
func BenchmarkCheckGET(b *testing.B) {
	p := newProtector(b, nil)
	r := httptest.NewRequest("GET", "https://"+testHost+"/x", nil)
	h := p.Handler(nopHandler{})
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkValidToken: unmasking and comparing one token.
func BenchmarkValidToken(b *testing.B) {
	s := NewSecret()
	tok := maskToken(s)
	b.ReportAllocs()
	for b.Loop() {
		if !validToken(tok, s, nil) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkMaskToken: issuing one masked token.
func BenchmarkMaskToken(b *testing.B) {
	s := NewSecret()
	b.ReportAllocs()
	for b.Loop() {
		maskToken(s)
	}
}
