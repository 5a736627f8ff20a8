package guard

import (
	"testing"

	"github.com/keycard-go/keycard"
)

// BenchmarkFingerprintCheck: the per-request fingerprint comparison of a
// browser request behind one trusted proxy, nothing changed.
func BenchmarkFingerprintCheck(b *testing.B) {
	g := newGuard(b, &Options{TrustedProxies: []string{"10.0.0.0/8"}})
	r := req("10.0.0.1:1234", append(base(), "X-Forwarded-For", "198.51.100.7, 10.0.0.9")...)
	stored := g.Fingerprint(r)
	b.ReportAllocs()
	for b.Loop() {
		if v := g.Check(stored, r); v.Action != keycard.GuardNone {
			b.Fatal("changed")
		}
	}
}

// BenchmarkFingerprintCheckHints: the same for a Chrome request that carries
// Sec-CH-UA.
func BenchmarkFingerprintCheckHints(b *testing.B) {
	g := newGuard(b, &Options{TrustedProxies: []string{"10.0.0.0/8"}})
	r := req("10.0.0.1:1234", "User-Agent", uaChrome131, "Sec-CH-UA", hintsChrome131,
		"Accept-Language", "en-GB,en;q=0.9", "X-Forwarded-For", "198.51.100.7, 10.0.0.9")
	stored := g.Fingerprint(r)
	b.ReportAllocs()
	for b.Loop() {
		if v := g.Check(stored, r); v.Action != keycard.GuardNone {
			b.Fatal("changed")
		}
	}
}

// BenchmarkFingerprintCheckParallel: BenchmarkFingerprintCheck from many
// goroutines, which share the caches of keyed hashes.
func BenchmarkFingerprintCheckParallel(b *testing.B) {
	g := newGuard(b, &Options{TrustedProxies: []string{"10.0.0.0/8"}})
	r := req("10.0.0.1:1234", append(base(), "X-Forwarded-For", "198.51.100.7, 10.0.0.9")...)
	stored := g.Fingerprint(r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v := g.Check(stored, r); v.Changed != nil {
				b.Error("changed")
			}
		}
	})
}

// BenchmarkFingerprintCheckG1: a fingerprint stored by the g1 format.
func BenchmarkFingerprintCheckG1(b *testing.B) {
	g := newGuard(b, nil)
	r := req("198.51.100.7:1", base()...)
	stored := g1Fingerprint(b, "firefox linux")
	b.ReportAllocs()
	for b.Loop() {
		if v := g.Check(stored, r); v.Action != keycard.GuardNone {
			b.Fatal("changed")
		}
	}
}

// BenchmarkFingerprint: computing the fingerprint to store at login.
func BenchmarkFingerprint(b *testing.B) {
	g := newGuard(b, nil)
	r := req("198.51.100.7:1", base()...)
	b.ReportAllocs()
	for b.Loop() {
		g.Fingerprint(r)
	}
}

// BenchmarkAllow: the limiter check made before a store lookup, for a
// network the limiter remembers.
func BenchmarkAllow(b *testing.B) {
	g := newGuard(b, nil)
	r := req("198.51.100.7:1")
	g.Invalid(r)
	b.ReportAllocs()
	for b.Loop() {
		g.Allow(r)
	}
}

// BenchmarkAllowParallel: Allow from many goroutines (one lock).
func BenchmarkAllowParallel(b *testing.B) {
	g := newGuard(b, nil)
	r := req("198.51.100.7:1")
	g.Invalid(r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Allow(r)
		}
	})
}

// BenchmarkClientIP: walking an X-Forwarded-For with two trusted hops.
func BenchmarkClientIP(b *testing.B) {
	g := newGuard(b, &Options{TrustedProxies: []string{"10.0.0.0/8"}})
	r := req("10.0.0.1:1234", "X-Forwarded-For", "9.9.9.9, 198.51.100.7, 10.0.0.9")
	b.ReportAllocs()
	for b.Loop() {
		g.ClientIP(r)
	}
}

// BenchmarkParseUserAgent: a current Chrome header.
func BenchmarkParseUserAgent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		parseUserAgent(uaChrome131, false)
	}
}

// BenchmarkParseBrands: a current Sec-CH-UA header.
func BenchmarkParseBrands(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		parseBrands(hintsChrome131)
	}
}
