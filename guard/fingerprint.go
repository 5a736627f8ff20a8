package guard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/lru"
)

// Signal is one property of the client that a fingerprint records.
type Signal uint8

// The signals of a fingerprint.
const (
	// SignalBrowser is the browser's class: its rendering engine (Blink for
	// Chrome, Edge, Opera, Samsung Internet and other Chromium browsers;
	// Gecko for Firefox; WebKit for Safari and every browser on iOS), or the
	// kind of program that is not a browser (curl, Go's client, a crawler).
	// The class is what survives a browser's modes: "request desktop site",
	// which makes an iPhone claim to be a Mac and an Android phone claim to
	// be Linux, and client hints that come and go.
	SignalBrowser Signal = iota + 1
	// SignalVersion is the browser's family and major version within its
	// class, such as Chrome 131: it changes when a browser updates, when
	// Chrome on iOS asks for the desktop site (it may then read as Safari), or
	// when another browser of the same engine presents the token. A change
	// of class is reported as SignalBrowser alone.
	SignalVersion
	// SignalLanguage is the Accept-Language header (case and spaces ignored).
	SignalLanguage
	// SignalNetwork is the client network: the /24 (IPv4) or /48 (IPv6) of
	// the client IP.
	SignalNetwork
)

const numSignals = 4

// String returns the signal's name for logs and metric labels.
func (s Signal) String() string {
	switch s {
	case SignalBrowser:
		return "browser"
	case SignalVersion:
		return "browser_version"
	case SignalLanguage:
		return "accept_language"
	case SignalNetwork:
		return "network"
	}
	return "invalid"
}

// Actions chooses the action for a change of each signal, as the session
// Manager's keycard.GuardAction; a verdict takes the strongest action of its
// changed signals (they are ordered GuardLog < GuardReauth < GuardRevoke). A
// zero field (keycard.GuardNone) takes its default, which follows OWASP's
// advice to detect first and block only on strong evidence: a new network
// (mobile users roam, IPv6 privacy addresses rotate), a new Accept-Language
// or a new browser version (browsers update themselves) are logged; a
// different browser class for the same session token requires
// re-authentication. It does not revoke by default because the class is
// read from headers the client writes, and a misreading (a browser mode or
// an app Keycard does not know) must not log a user out; GuardRevoke is
// there for applications that prefer that risk.
type Actions struct {
	Browser  keycard.GuardAction // default keycard.GuardReauth
	Version  keycard.GuardAction // default keycard.GuardLog
	Language keycard.GuardAction // default keycard.GuardLog
	Network  keycard.GuardAction // default keycard.GuardLog
}

func (a Actions) resolve() ([numSignals]keycard.GuardAction, error) {
	out := [numSignals]keycard.GuardAction{a.Browser, a.Version, a.Language, a.Network}
	defaults := [numSignals]keycard.GuardAction{keycard.GuardReauth, keycard.GuardLog, keycard.GuardLog, keycard.GuardLog}
	for i := range out {
		if out[i] > keycard.GuardRevoke {
			return out, fmt.Errorf("guard: invalid action %d for signal %s", out[i], Signal(i+1))
		}
		if out[i] == keycard.GuardNone {
			out[i] = defaults[i]
		}
	}
	return out, nil
}

// Verdict is the result of comparing a stored fingerprint with a request.
type Verdict struct {
	// Changed lists the signals that differ, in Signal order; nil when the
	// client looks the same.
	Changed []Signal
	// Action is the strongest configured action of the changed signals, or
	// keycard.GuardNone.
	Action keycard.GuardAction
}

// Has reports whether s is among the changed signals.
func (v Verdict) Has(s Signal) bool {
	for _, c := range v.Changed {
		if c == s {
			return true
		}
	}
	return false
}

// Signals returns the changed signals as a comma-separated list of their
// names, such as "browser,network", for logs and events; "" when nothing
// changed.
func (v Verdict) Signals() string {
	switch len(v.Changed) {
	case 0:
		return ""
	case 1:
		return v.Changed[0].String()
	}
	var b strings.Builder
	for i, s := range v.Changed {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// Fingerprint format: "g2." then, for each signal in Signal order, the first
// 6 bytes of HMAC-SHA256(subkey, signal number || value) in base64url (8
// characters). Each signal can be compared on its own, and none can be read
// back without the key. 48 bits per signal make an unnoticed change a
// 1-in-2^48 event. The browser value is 'c' and the class; the version
// value is the family and the major version.
//
// The g1 format, which fingerprints stored before this one use, hashed the
// family as the browser value, and read the browser and version values from
// the User-Agent alone, as the g1 column of uaRules does. Check compares a g1
// fingerprint the g1 way, so that sessions from before the change do not all
// look as if their browser changed; they get a g2 fingerprint at their next
// login.
const (
	fpPrefix   = "g2."
	fpPrefixG1 = "g1."
	fpSumLen   = 6
	fpCharLen  = 8 // base64 of fpSumLen bytes
	// FingerprintLen is the length of the string Fingerprint returns.
	FingerprintLen = len(fpPrefix) + numSignals*fpCharLen
)

// maxLanguage caps how much of Accept-Language is hashed.
const maxLanguage = 256

type macState struct {
	mac  hash.Hash
	buf  []byte
	lang []byte
	sum  []byte
}

// macState takes a keyed HMAC state from the pool, so that a fingerprint costs no allocation.
func (g *Guard) macState() *macState {
	if st, _ := g.macs.Get().(*macState); st != nil {
		return st
	}
	return &macState{
		mac:  hmac.New(sha256.New, g.macKey),
		buf:  make([]byte, 0, 64+maxLanguage),
		lang: make([]byte, 0, maxLanguage),
		sum:  make([]byte, 0, sha256.Size),
	}
}

// encodedSum is the encoded keyed hash of one signal value.
type encodedSum [fpCharLen]byte

// precomputedMajors is how many major versions per family have their keyed
// hash computed in New (about 26 KB), so that a request with a common user
// agent costs no HMAC for its browser signals.
const precomputedMajors = 256

// hash returns the encoded keyed hash of signal s with value v.
func (st *macState) hash(s Signal, v []byte) (e encodedSum) {
	st.buf = append(append(st.buf[:0], byte(s)), v...)
	st.mac.Reset()
	st.mac.Write(st.buf)
	st.sum = st.mac.Sum(st.sum[:0])
	base64.RawURLEncoding.Encode(e[:], st.sum[:fpSumLen])
	return e
}

func versionValue(fam family, major int) [5]byte {
	return [5]byte{byte(fam), byte(major >> 24), byte(major >> 16), byte(major >> 8), byte(major)}
}

// precompute fills the tables of user-agent hashes.
func (g *Guard) precompute() {
	st := g.macState()
	defer g.macs.Put(st)
	for c := range numClasses {
		g.classSums[c] = st.hash(SignalBrowser, []byte{'c', byte(c)})
	}
	for f := range numFamiliesG1 {
		g.g1FamilySums[f] = st.hash(SignalBrowser, []byte{byte(f)})
	}
	for f := range numFamilies {
		for m := range precomputedMajors {
			v := versionValue(family(f), m)
			g.versionSums[f][m] = st.hash(SignalVersion, v[:])
		}
	}
}

// sums computes the keyed hash of every signal of r, encoded, in the g2
// format or, with g1, in the g1 format.
func (g *Guard) sums(r *http.Request, out *[numSignals * fpCharLen]byte, g1 bool) {
	var c client
	if g1 {
		c.family, c.major, _ = parseUserAgent(r.Header.Get("User-Agent"), true)
	} else {
		c = clientOf(r.Header)
	}
	net := Network(g.ClientIP(r))

	st := g.macState()
	defer g.macs.Put(st)
	put := func(s Signal, e encodedSum) { copy(out[int(s-1)*fpCharLen:], e[:]) }

	if g1 {
		put(SignalBrowser, g.g1FamilySums[c.family])
	} else {
		put(SignalBrowser, g.classSums[c.class])
	}
	if c.major < precomputedMajors {
		put(SignalVersion, g.versionSums[c.family][c.major])
	} else {
		v := versionValue(c.family, c.major)
		put(SignalVersion, st.hash(SignalVersion, v[:]))
	}
	// The language is normalised into the scratch buffer after the signal
	// byte that sum writes, so it is copied once.
	lang := appendLanguage(st.lang[:0], r.Header.Get("Accept-Language"))
	st.lang = lang
	put(SignalLanguage, g.langSums.sum(st, SignalLanguage, lang))
	a := net.Addr().As16()
	var nv [17]byte
	copy(nv[:], a[:])
	nv[16] = byte(net.Bits() + 1) // +1: the zero Prefix has Bits -1
	put(SignalNetwork, g.netSums.sum(st, SignalNetwork, nv[:]))
}

// sumCacheMax bounds each cache of keyed hashes: past it, the least
// recently seen value is forgotten, so a flood of new values costs HMACs,
// never memory, and the values in use stay.
const sumCacheMax = 4096

// sumCache remembers the encoded keyed hashes of recently seen values of one
// signal, so that a request from a known client costs no HMAC. Entries are
// found by a seeded hash of the value and keep the value, which a hit must
// match: a collision is a miss, never another value's sum. It is safe for
// concurrent use.
type sumCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	sums *lru.Cache[uint64, cachedSum]
}

type cachedSum struct {
	value string
	sum   encodedSum
}

func newSumCache() *sumCache {
	return &sumCache{seed: maphash.MakeSeed(), sums: lru.New[uint64, cachedSum](sumCacheMax)}
}

// sum returns the keyed hash of v for signal s, from the cache or computed
// with st and remembered. A hit does not allocate.
func (c *sumCache) sum(st *macState, s Signal, v []byte) encodedSum {
	h := maphash.Bytes(c.seed, v)
	c.mu.Lock()
	if e := c.sums.Get(h); e != nil && e.value == string(v) {
		sum := e.sum
		c.mu.Unlock()
		return sum
	}
	c.mu.Unlock()
	sum := st.hash(s, v)
	c.mu.Lock()
	c.sums.Add(h, cachedSum{value: string(v), sum: sum})
	c.mu.Unlock()
	return sum
}

// appendLanguage appends Accept-Language lowercased and without white space,
// so that proxies that reformat it do not raise an anomaly.
func appendLanguage(b []byte, v string) []byte {
	n := 0
	for i := 0; i < len(v) && n < maxLanguage; i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		n++
	}
	return b
}

// Fingerprint returns the keyed fingerprint of the client that sent r, to be
// stored with the session at login (Record.Fingerprint). It is
// FingerprintLen characters, holds no raw value, and is still not meant for
// logs. Two requests from the same browser, language and network get the same
// fingerprint.
func (g *Guard) Fingerprint(r *http.Request) string {
	var enc [numSignals * fpCharLen]byte
	g.sums(r, &enc, false)
	return fpPrefix + string(enc[:])
}

// Check compares the fingerprint stored at login with the client that sent r
// and says which signals changed and what to do about it. It does not
// allocate when nothing changed. A fingerprint of the previous (g1) format is
// compared as that format was made. A stored value that is not a fingerprint
// (empty, truncated, of an unknown format) fails closed: every signal counts
// as changed. The caller acts on the verdict (Keycard's session layer emits
// an anomaly event and revokes or flags the session).
func (g *Guard) Check(stored string, r *http.Request) Verdict {
	wellFormed := len(stored) == FingerprintLen
	g1 := wellFormed && stored[:len(fpPrefix)] == fpPrefixG1
	wellFormed = wellFormed && (g1 || stored[:len(fpPrefix)] == fpPrefix)
	var enc [numSignals * fpCharLen]byte
	g.sums(r, &enc, g1)
	var v Verdict
	for s := SignalBrowser; s <= SignalNetwork; s++ {
		i := int(s-1) * fpCharLen
		if wellFormed && stored[len(fpPrefix)+i:len(fpPrefix)+i+fpCharLen] == string(enc[i:i+fpCharLen]) {
			continue
		}
		if s == SignalVersion && v.Has(SignalBrowser) {
			continue // another class: its version means nothing
		}
		if v.Changed == nil {
			v.Changed = make([]Signal, 0, numSignals)
		}
		v.Changed = append(v.Changed, s)
		v.Action = max(v.Action, g.actions[s-1])
	}
	return v
}
