package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/internal/ratelimit"
	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/metrics"
	"github.com/keycard-go/keycard/seal"
	"github.com/keycard-go/keycard/storage"
)

// Server is the HTTP API of `keycard serve` (DESIGN §7). It is safe for
// concurrent use. Create one with New; Close it when done.
type Server struct {
	opts    Options
	store   storage.Store // instrumented: every call is measured
	users   storage.Users // nil when the store keeps no local users
	m       *keycard.Manager
	guard   *guard.Guard
	issuer  *jwt.Issuer
	admin   adminKeys
	log     *slog.Logger
	audit   *auditLog
	metrics http.Handler
	now     func() time.Time

	// Failed logins are limited per account and per client network. Each
	// attempt takes a token before the password is checked and a success
	// gives it back, so concurrent guesses cannot all pass one check.
	accountLim *ratelimit.Limiter[string]
	networkLim *ratelimit.Limiter[netip.Prefix]

	// hashing bounds the argon2id computations running at once (each takes
	// 19 MiB), so that a burst of logins queues instead of exhausting memory.
	hashing chan struct{}

	handler http.Handler
}

// Login limits: an account may fail loginAccountBurst times at once, then
// loginAccountPerMinute a minute; a client network (a /24 or /48) more,
// since it may hold many users.
const (
	loginAccountPerMinute = 5
	loginAccountBurst     = 10
	loginNetworkPerMinute = 20
	loginNetworkBurst     = 20
	loginMaxKeys          = 10000
)

// New returns a Server over store. Options are checked here: a missing
// signing key, a short fingerprint key or a bad admin key hash is an error
// that names the field.
func New(store storage.Store, opts *Options) (*Server, error) {
	if store == nil || opts == nil {
		return nil, errors.New("server: a store and options are required")
	}
	s := &Server{opts: *opts, now: opts.now}
	o := &s.opts
	if s.now == nil {
		s.now = time.Now
	}
	s.log = o.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	if o.Issuer == "" {
		o.Issuer = "keycard"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if len(o.SigningKeys) == 0 {
		return nil, errors.New("server: Options.SigningKeys is empty: at least one JWT signing key is required")
	}
	var err error
	if s.admin, err = newAdminKeys(o.AdminKeyHashes); err != nil {
		return nil, err
	}
	if s.guard, err = guard.New(o.FingerprintKey, &guard.Options{TrustedProxies: o.TrustedProxies, Logger: s.log}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.issuer, err = jwt.NewIssuer(o.Issuer, o.SigningKeys[0], nil); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, k := range o.SigningKeys[1:] {
		if err := s.issuer.Rotate(k); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	salt := o.AuditSalt
	if salt == nil {
		salt = derive(o.FingerprintKey, "keycard audit subject salt")
	}
	s.audit = newAuditLog(o.Audit, salt)

	collector, err := metrics.New(nil)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

	if u, ok := store.(storage.Users); ok {
		s.users = u
	}
	s.store = collector.InstrumentStore(store)

	mopts := &keycard.Options{
		IdleTimeout:       o.IdleTimeout,
		AbsoluteTimeout:   o.AbsoluteTimeout,
		RenewalTimeout:    o.RenewalTimeout,
		RenewalGrace:      o.RenewalGrace,
		InsecureAllowHTTP: o.InsecureAllowHTTP,
		OnEvent:           metrics.Chain(collector.OnEvent, s.audit.event),
		Logger:            s.log,
		LogSubjectSalt:    salt,
		Guard:             s.guard.Keycard(),
		ErrorHandler:      s.middlewareError,
	}
	if len(o.SealSecrets) > 0 {
		ring, err := seal.NewKeyRing(o.SealSecrets...)
		if err != nil {
			return nil, fmt.Errorf("server: Options.SealSecrets: %w", err)
		}
		if mopts.Sealer, err = seal.New(ring, nil); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if s.m, err = keycard.New(s.store, mopts); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	s.accountLim = ratelimit.New[string](loginAccountPerMinute, loginAccountBurst, loginMaxKeys)
	s.networkLim = ratelimit.New[netip.Prefix](loginNetworkPerMinute, loginNetworkBurst, loginMaxKeys)
	s.hashing = make(chan struct{}, runtime.GOMAXPROCS(0))
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Manager returns the Manager behind the server, for programs that embed
// the server and want to issue or revoke sessions directly.
func (s *Server) Manager() *keycard.Manager { return s.m }

// Close stops the server's background work (the revocation watcher of
// sealed-cookie mode). It does not close the store.
func (s *Server) Close() error { return s.m.Close() }

// middlewareError writes the Manager middleware's own errors (400 token in
// URL, 429 rate limited, 503 store unavailable) in the API's error model.
func (s *Server) middlewareError(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		s.writeErr(w, r, err)
		return
	}
	keycard.WriteError(w, r, err)
}

// clientIP is the client address the guard believes (X-Forwarded-For from
// trusted proxies, else RemoteAddr).
func (s *Server) clientIP(r *http.Request) netip.Addr { return s.guard.ClientIP(r) }

// ready reports whether the store answers: a lookup of a hash no token has
// is ErrNotFound when the store works.
func (s *Server) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.store.Get(ctx, storage.Hash{})
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("%w: %w", keycard.ErrStoreUnavailable, err)
}
