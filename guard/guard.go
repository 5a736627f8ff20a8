package guard

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/ratelimit"
	"github.com/keycard-go/keycard/internal/testhook"
)

// MinKeyLen is the shortest fingerprint key New accepts.
const MinKeyLen = 32

// Options configures a Guard. A nil *Options means all defaults, and the zero
// value of every field is the secure choice.
type Options struct {
	// TrustedProxies are the addresses of reverse proxies (CIDR prefixes such
	// as "10.0.0.0/8", or single addresses) whose ProxyHeader is believed.
	// Default: none, and the client IP is always RemoteAddr. Not secure when
	// too wide: a trusted range that contains clients lets them choose their
	// address.
	TrustedProxies []string

	// ProxyHeader is the header the trusted proxies write. Default
	// XForwardedFor. Only this one header is read.
	ProxyHeader ProxyHeader

	// Actions chooses what a change of each fingerprint signal calls for.
	// A zero field takes its default (see Actions).
	Actions Actions

	// InvalidPerMinute is how many invalid session tokens a client network
	// may present per minute, sustained. Default 20.
	InvalidPerMinute int

	// InvalidBurst is how many invalid tokens a network may present at once
	// before the per-minute rate applies. Default 10.
	InvalidBurst int

	// MaxNetworks bounds the number of client networks the invalid-token
	// limiter remembers (least recently seen are forgotten first), and so
	// its memory (about 150 bytes each). Default 10000.
	MaxNetworks int

	// Logger receives a line for every rate-limited request. Default
	// slog.Default().
	Logger *slog.Logger
}

// Guard binds sessions to client fingerprints and limits invalid-token
// presentations per client network. It is safe for concurrent use; its
// configuration cannot change after New.
type Guard struct {
	proxies []netip.Prefix
	header  ProxyHeader
	actions [numSignals]keycard.GuardAction
	macKey  []byte
	macs    sync.Pool // *macState

	classSums    [numClasses]encodedSum
	g1FamilySums [numFamiliesG1]encodedSum // the g1 format's browser values
	versionSums  [numFamilies][precomputedMajors]encodedSum
	// langSums and netSums remember the keyed hashes of recently seen
	// languages and networks, so that a request from a known client costs no
	// HMAC. They hold raw values in memory only and are bounded (sumCacheMax).
	langSums, netSums *sumCache
	lim               *ratelimit.Limiter[netKey]
	// now is time.Now; Keycard's tests set it (directly, or through
	// internal/testhook from other packages).
	now func() time.Time
	log *slog.Logger
}

func init() {
	testhook.Register(func(g *Guard, now func() time.Time) { g.now = now })
}

// New returns a Guard whose fingerprints are keyed with key (at least
// MinKeyLen bytes, kept secret, and the same on every node that shares
// sessions). It validates opts and returns an error for a bad key, proxy
// prefix, action or limit.
func New(key []byte, opts *Options) (*Guard, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("guard: key must be at least %d bytes", MinKeyLen)
	}
	if opts == nil {
		opts = &Options{}
	}
	g := &Guard{header: opts.ProxyHeader, now: time.Now, log: opts.Logger}
	if g.header > Forwarded {
		return nil, errors.New("guard: unknown ProxyHeader")
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	for _, s := range opts.TrustedProxies {
		p, err := parseProxy(s)
		if err != nil {
			return nil, err
		}
		g.proxies = append(g.proxies, p)
	}
	var err error
	if g.actions, err = opts.Actions.resolve(); err != nil {
		return nil, err
	}
	// A subkey for fingerprints, so that the same key used elsewhere never
	// produces the same hashes.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("keycard guard fingerprint v1"))
	g.macKey = m.Sum(nil)
	g.precompute()
	g.langSums, g.netSums = newSumCache(), newSumCache()

	perMin, burst, max := opts.InvalidPerMinute, opts.InvalidBurst, opts.MaxNetworks
	if perMin < 0 || burst < 0 || max < 0 {
		return nil, errors.New("guard: InvalidPerMinute, InvalidBurst and MaxNetworks must not be negative")
	}
	if max > math.MaxInt32 {
		return nil, errors.New("guard: MaxNetworks is too large")
	}
	if perMin == 0 {
		perMin = 20
	}
	if burst == 0 {
		burst = 10
	}
	if max == 0 {
		max = 10000
	}
	g.lim = ratelimit.New[netKey](perMin, burst, max)
	return g, nil
}

// parseProxy parses "10.0.0.0/8" or "10.0.0.1" (a /32 or /128).
func parseProxy(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("guard: trusted proxy %q: not a CIDR prefix", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, fmt.Errorf("guard: trusted proxy %q: not an IP address or CIDR prefix", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Zone() != "" {
		return p, fmt.Errorf("guard: trusted proxy %q: zones are not allowed", s)
	}
	// Client addresses are compared unmapped, so the prefix must be too.
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("guard: trusted proxy %q: an IPv4-mapped prefix shorter than /96", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
