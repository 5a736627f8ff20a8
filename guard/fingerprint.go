package guard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
)

// Signal is one property of the client that a fingerprint records.
type Signal uint8

// The signals of a fingerprint.
const (
	// SignalBrowser is the user-agent family (Firefox, Chrome, curl, ...).
	SignalBrowser Signal = iota + 1
	// SignalVersion is the major version of the user agent. A change of
	// family is reported as SignalBrowser alone.
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

// Action is what a fingerprint change calls for. Actions are ordered: a
// verdict takes the strongest action of its changed signals.
type Action uint8

const (
	// ActionNone: nothing changed. In Actions it means "the default".
	ActionNone Action = iota
	// ActionLog: report an anomaly and carry on (detection first).
	ActionLog
	// ActionRequireReauth: keep the session but require the user to
	// authenticate again before anything sensitive.
	ActionRequireReauth
	// ActionRevoke: end the session.
	ActionRevoke
)

// String returns "none", "log", "require_reauth" or "revoke".
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionLog:
		return "log"
	case ActionRequireReauth:
		return "require_reauth"
	case ActionRevoke:
		return "revoke"
	}
	return "invalid"
}

// Actions chooses the action for a change of each signal. A zero field takes
// its default, which follows OWASP's advice to detect first and block only
// on strong evidence: a new network (mobile users roam, IPv6 privacy
// addresses rotate), a new Accept-Language or a new browser version (browsers
// update themselves) are logged; a different browser family for the same
// session token is revoked, since one browser does not turn into another.
type Actions struct {
	Browser  Action // default ActionRevoke
	Version  Action // default ActionLog
	Language Action // default ActionLog
	Network  Action // default ActionLog
}

func (a Actions) resolve() ([numSignals]Action, error) {
	out := [numSignals]Action{a.Browser, a.Version, a.Language, a.Network}
	defaults := [numSignals]Action{ActionRevoke, ActionLog, ActionLog, ActionLog}
	for i := range out {
		if out[i] > ActionRevoke {
			return out, fmt.Errorf("guard: invalid action %d for signal %s", out[i], Signal(i+1))
		}
		if out[i] == ActionNone {
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
	// ActionNone.
	Action Action
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

// Fingerprint format: "g1." then, for each signal in Signal order, the first
// 6 bytes of HMAC-SHA256(subkey, signal number || value) in base64url (8
// characters). Each signal can be compared on its own, and none can be read
// back without the key. 48 bits per signal make an unnoticed change a
// 1-in-2^48 event.
const (
	fpPrefix  = "g1."
	fpSumLen  = 6
	fpCharLen = 8 // base64 of fpSumLen bytes
	// FingerprintLen is the length of the string Fingerprint returns.
	FingerprintLen = len(fpPrefix) + numSignals*fpCharLen
)

// maxLanguage caps how much of Accept-Language is hashed.
const maxLanguage = 256

type macState struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// macState takes a keyed HMAC state from the pool, so that a fingerprint costs no allocation.
func (g *Guard) macState() *macState {
	if st, _ := g.macs.Get().(*macState); st != nil {
		return st
	}
	return &macState{mac: hmac.New(sha256.New, g.macKey), buf: make([]byte, 0, 64+maxLanguage), sum: make([]byte, 0, sha256.Size)}
}

// sums computes the keyed hash of every signal of r, encoded.
func (g *Guard) sums(r *http.Request, out *[numSignals * fpCharLen]byte) {
	st := g.macState()
	defer g.macs.Put(st)

	fam, major := ParseUserAgent(r.Header.Get("User-Agent"))
	net := Network(g.ClientIP(r))

	for s := SignalBrowser; s <= SignalNetwork; s++ {
		b := append(st.buf[:0], byte(s))
		switch s {
		case SignalBrowser:
			b = append(b, byte(fam))
		case SignalVersion:
			b = append(b, byte(fam), byte(major>>24), byte(major>>16), byte(major>>8), byte(major))
		case SignalLanguage:
			b = appendLanguage(b, r.Header.Get("Accept-Language"))
		case SignalNetwork:
			a := net.Addr().As16()
			b = append(b, a[:]...)
			b = append(b, byte(net.Bits()+1)) // +1: the zero Prefix has Bits -1
		}
		st.buf = b
		st.mac.Reset()
		st.mac.Write(b)
		st.sum = st.mac.Sum(st.sum[:0])
		i := int(s-1) * fpCharLen
		base64.RawURLEncoding.Encode(out[i:i+fpCharLen], st.sum[:fpSumLen])
	}
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
	g.sums(r, &enc)
	return fpPrefix + string(enc[:])
}

// Check compares the fingerprint stored at login with the client that sent r
// and says which signals changed and what to do about it. It does not
// allocate when nothing changed. A stored value that is not a fingerprint
// (empty, truncated, from another format) fails closed: every signal counts
// as changed. The caller acts on the verdict (Keycard's session layer emits
// an anomaly event and revokes or flags the session).
func (g *Guard) Check(stored string, r *http.Request) Verdict {
	var enc [numSignals * fpCharLen]byte
	g.sums(r, &enc)
	wellFormed := len(stored) == FingerprintLen && stored[:len(fpPrefix)] == fpPrefix
	var v Verdict
	for s := SignalBrowser; s <= SignalNetwork; s++ {
		i := int(s-1) * fpCharLen
		if wellFormed && stored[len(fpPrefix)+i:len(fpPrefix)+i+fpCharLen] == string(enc[i:i+fpCharLen]) {
			continue
		}
		if s == SignalVersion && v.Has(SignalBrowser) {
			continue // another browser: its version means nothing
		}
		if v.Changed == nil {
			v.Changed = make([]Signal, 0, numSignals)
		}
		v.Changed = append(v.Changed, s)
		v.Action = max(v.Action, g.actions[s-1])
	}
	return v
}
