package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keycard-go/keycard/server"
)

// The http.Server limits of `keycard serve`.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout is how long a graceful shutdown waits for requests in
	// flight before it cuts them off.
	shutdownTimeout = 20 * time.Second
)

const defaultStore = "sqlite:keycard.db"

var serveCommand = &command{
	name:    "serve",
	summary: "run the Keycard HTTP API",
	about: `Serve runs the Keycard HTTP API (sessions, admin API, forward auth, JWKS,
health and metrics) over the store --store names, and prints the URL it
listens on once it is ready. SIGINT or SIGTERM shut it down gracefully: it
stops accepting connections and lets the requests in flight finish (up to
20s). With TLS, SIGHUP reloads the certificate and key (a bad pair is
logged and the old one kept).

Plain HTTP is served only on a loopback address (127.0.0.1, ::1,
localhost); on any other address give --tls-cert and --tls-key, or
--insecure-allow-http behind a TLS-terminating proxy.

Secrets live in a key file (JSON, mode 0600, refused if group- or
world-readable): the JWT signing keys, the seal secrets, the fingerprint key,
the audit salt and the hashes of admin keys. serve creates it on first start
and reuses it on every restart, so sessions and tokens stay valid. Its
default is keycard-keys.json next to a sqlite database; a redis or postgres
store needs --keys-file (every node must share the same file); a memory:
store without --keys-file keeps throwaway keys in memory.

Admin API keys are accepted from --admin-key, --admin-key-file and the key
file (keycard keys admin); each may be a key (kcadm_...) or its hash
(sha256:...).

Store URLs: ` + storeForms + `.`,
	examples: `keycard serve
keycard serve --store memory: --addr 127.0.0.1:0
keycard serve --addr :8443 --tls-cert cert.pem --tls-key key.pem --store sqlite:/var/lib/keycard/keycard.db
KEYCARD_STORE=postgres://keycard@db/keycard keycard serve --keys-file /etc/keycard/keys.json --addr :8080 --insecure-allow-http --trusted-proxy 10.0.0.0/8
keycard serve --admin-key-file /etc/keycard/admin-keys --audit-log /var/log/keycard/audit.jsonl --log-format json`,
	new: func(m *Main, fs *flag.FlagSet, _ string) runner { return newServe(m, fs, false) },
}

var demoCommand = &command{
	name:    "demo",
	summary: "run the server with the demo site and a demo user",
	about: `Demo is serve --demo plus a local user "demo" whose password it sets to a
new random one at every start and prints once, with the URL to open. It
takes every flag of serve, and like serve it keeps sessions, users and keys
in the embedded store ./keycard.db and ./keycard-keys.json unless --store
names another (--store memory: leaves no file behind).`,
	examples: `keycard demo
keycard demo --addr 127.0.0.1:9000
keycard demo --store memory:`,
	new: func(m *Main, fs *flag.FlagSet, _ string) runner { return newServe(m, fs, true) },
}

// serveHooks let tests reach into a running server.
type serveHooks struct {
	wrap            func(http.Handler) http.Handler // wraps the server's handler
	reload          <-chan os.Signal                // replaces SIGHUP
	reloaded        func(error)                     // called after each certificate reload
	shutdownTimeout time.Duration                   // replaces shutdownTimeout
}

type serveFlags struct {
	addr, store, keysFile, issuer           string
	gatewayLoginURL                         string
	tlsCert, tlsKey, adminKeyFile, auditLog string
	logFormat, logLevel                     string
	idle, absolute, renewal, grace          time.Duration
	insecureHTTP, demo, seal                bool
	adminKeys, trustedProxies               listFlag
	allowedOrigins                          listFlag
}

type serve struct {
	m       *Main
	f       serveFlags
	demoCmd bool // `keycard demo`: make the demo user

	log    *slog.Logger
	ln     net.Listener
	srv    *http.Server
	ks     *server.Server
	closer []io.Closer // closed by Close, last first
	scheme string
	errc   chan error
	stop   chan struct{} // ends the reload loop

	closeOnce sync.Once
	closeErr  error
}

func newServe(m *Main, fs *flag.FlagSet, demo bool) *serve {
	s := &serve{m: m, demoCmd: demo}
	f := &s.f
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen `address` (host:port; port 0 picks a free one)")
	storeFlag(fs, &f.store, defaultStore)
	fs.DurationVar(&f.idle, "idle-timeout", 0, "end a session idle this long (default 30m)")
	fs.DurationVar(&f.absolute, "absolute-timeout", 0, "end every session this long after login, whatever its activity (default 12h)")
	fs.DurationVar(&f.renewal, "renewal-timeout", 0, "rotate a session's token this often (default 15m)")
	fs.DurationVar(&f.grace, "renewal-grace", 0, "keep accepting the previous token this long after a rotation (default 30s)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate chain `file` (PEM); SIGHUP reloads it")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key `file` (PEM); SIGHUP reloads it")
	fs.BoolVar(&f.insecureHTTP, "insecure-allow-http", false, "serve plain HTTP on a non-loopback address and drop the cookie's Secure attribute.\nNot secure: only behind a proxy that terminates TLS")
	fs.Var(&f.adminKeys, "admin-key", "accept this admin API `key` (kcadm_...) or hash (sha256:...); repeatable")
	fs.StringVar(&f.adminKeyFile, "admin-key-file", "", "accept the admin keys or hashes of this `file`, one a line, # comments")
	fs.Var(&f.trustedProxies, "trusted-proxy", "believe X-Forwarded-For from this `CIDR` or address; repeatable (default none: the client IP is the peer's)")
	fs.StringVar(&f.gatewayLoginURL, "gateway-login-url", "", "where /v1/auth sends a browser without a session (a path or an absolute `URL`; default none)")
	fs.Var(&f.allowedOrigins, "allowed-origin", "an `origin` (https://app.example.com) return URLs may point to besides this host; repeatable")
	fs.BoolVar(&f.demo, "demo", demo, "serve the demo site (login form, account page, devices) at /")
	fs.BoolVar(&f.seal, "seal", false, "keep browser sessions in sealed cookies (with the key file's seal secrets) instead of the store")
	keysFileFlag(fs, &f.keysFile)
	fs.StringVar(&f.issuer, "issuer", "", `"iss" of the access tokens (a `+"`URL`"+`), normally the server's public URL (default "keycard")`)
	fs.StringVar(&f.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.auditLog, "audit-log", "", "write the audit log (JSON lines of security events) to this `file`, or - for stderr (default off)")
	return s
}

func (s *serve) done() <-chan error { return s.errc }
func (s *serve) defer_(c io.Closer) { s.closer = append(s.closer, c) }

func (s *serve) addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *serve) url() string {
	if s.ln == nil {
		return ""
	}
	return s.scheme + "://" + s.ln.Addr().String()
}

// newLogger returns the operational logger --log-format and --log-level
// ask for, writing to w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level: %q is not debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, usagef("--log-format: %q is not text or json", format)
}

// isLoopback reports whether the listen address addr is on loopback only.
// An empty host (":8080") listens on every interface, and a host name
// other than localhost may resolve anywhere: both are not loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// check validates the flags that need no I/O.
func (f *serveFlags) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"idle-timeout", f.idle}, {"absolute-timeout", f.absolute}, {"renewal-timeout", f.renewal}, {"renewal-grace", f.grace}} {
		if d.v < 0 {
			return usagef("--%s may not be negative", d.name)
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usagef("--addr: %q is not host:port", f.addr)
	}
	// Plain HTTP off loopback exposes session cookies and bearer tokens to
	// anyone on the path (OWASP Session Management Cheat Sheet, "Transport
	// Layer Security"), so it needs an explicit, named opt-in.
	if f.tlsCert == "" && !f.insecureHTTP && !isLoopback(f.addr) {
		return usagef("refusing plain HTTP on %s, which is not a loopback address: give --tls-cert and --tls-key, "+
			"or --insecure-allow-http if a proxy in front terminates TLS", f.addr)
	}
	for _, p := range f.trustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return usagef("--trusted-proxy: %q is not a CIDR prefix or an address", p)
			}
		}
	}
	return nil
}

// adminKeyHashes gathers the admin key hashes of --admin-key,
// --admin-key-file and the key file.
func (f *serveFlags) adminKeyHashes(kf *keyFile) ([]string, error) {
	var hashes []string
	for i, k := range f.adminKeys {
		h, err := server.ParseAdminKey(k)
		if err != nil {
			return nil, usagef("--admin-key #%d: %v", i+1, err)
		}
		hashes = append(hashes, h)
	}
	if f.adminKeyFile != "" {
		hs, err := readAdminKeyFile(f.adminKeyFile)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, hs...)
	}
	if kf != nil {
		hashes = append(hashes, kf.AdminKeyHashes...)
	}
	return hashes, nil
}

// readAdminKeyFile reads admin keys or hashes, one a line; blank lines and
// lines starting with # are skipped. A file that holds keys (not only
// hashes) is a secret and refused when others may read it.
func readAdminKeyFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--admin-key-file: %w", err)
	}
	defer f.Close()
	var hashes []string
	secret := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h, err := server.ParseAdminKey(line)
		if err != nil {
			return nil, fmt.Errorf("--admin-key-file %s line %d: %v", path, n, err)
		}
		secret = secret || h != line
		hashes = append(hashes, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--admin-key-file %s: %w", path, err)
	}
	if secret {
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("--admin-key-file: %w", err)
		}
		if err := checkPrivate(path, fi); err != nil {
			return nil, fmt.Errorf("--admin-key-file %w (or keep only sha256: hashes in it)", err)
		}
	}
	return hashes, nil
}

// storeFlag defines --store, with its default.
func storeFlag(fs *flag.FlagSet, p *string, def string) {
	fs.StringVar(p, "store", def, "store `URL`: "+storeForms)
}

// keysFileFlag defines --keys-file.
func keysFileFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "keys-file", "", "key `file` (default keycard-keys.json next to a sqlite database; required for redis and postgres)")
}

// keysPath parses the --store URL store and returns it with the key file
// for it and --keys-file, or "" for throwaway keys (a memory: store without
// --keys-file).
func keysPath(store, keysFile string) (storeURL, string, error) {
	u, err := parseStoreURL(store)
	if err != nil {
		return u, "", usageError{err}
	}
	switch {
	case keysFile != "":
		return u, keysFile, nil
	case u.kind == storeSQLite:
		return u, filepath.Join(filepath.Dir(u.path), keyFileName), nil
	case u.kind == storeMemory:
		return u, "", nil
	}
	return u, "", usagef("a %s store needs --keys-file: every node of a deployment must share one key file "+
		"(make it with `keycard keys generate --keys-file PATH` and copy it to each node)", u.kind)
}

func (s *serve) run(ctx context.Context, _ []string) (err error) {
	f := &s.f
	if err := f.check(); err != nil {
		return err
	}
	if s.log, err = newLogger(s.m.stderr, f.logFormat, f.logLevel); err != nil {
		return err
	}
	u, kpath, err := keysPath(f.store, f.keysFile)
	if err != nil {
		return err
	}
	var kf *keyFile
	if kpath == "" {
		s.log.Warn("memory: store without --keys-file: the signing keys and secrets are throwaway ones, gone at exit")
		if kf, err = newKeyFile(); err != nil {
			return err
		}
	} else {
		var created bool
		if kf, created, err = loadOrCreateKeyFile(kpath); err != nil {
			return err
		}
		if created {
			s.log.Info("created the key file", "path", kpath)
			if u.kind == storeRedis || u.kind == storePostgres {
				s.log.Warn("copy the new key file to every other node of this deployment before starting them", "path", kpath)
			}
		}
	}
	hashes, err := f.adminKeyHashes(kf)
	if err != nil {
		return err
	}

	opts := &server.Options{
		IdleTimeout:       f.idle,
		AbsoluteTimeout:   f.absolute,
		RenewalTimeout:    f.renewal,
		RenewalGrace:      f.grace,
		InsecureAllowHTTP: f.insecureHTTP,
		TLS:               f.tlsCert != "",
		Issuer:            f.issuer,
		SigningKeys:       kf.signers,
		FingerprintKey:    kf.FingerprintKey,
		AuditSalt:         kf.AuditSalt,
		AdminKeyHashes:    hashes,
		TrustedProxies:    f.trustedProxies,
		GatewayLoginURL:   f.gatewayLoginURL,
		AllowedOrigins:    f.allowedOrigins,
		Demo:              f.demo,
		Logger:            s.log,
		Version:           version(),
	}
	if f.seal {
		opts.SealSecrets = kf.SealSecrets
	}
	switch f.auditLog {
	case "":
	case "-":
		opts.Audit = s.m.stderr
	default:
		af, err := os.OpenFile(f.auditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("--audit-log: %w", err)
		}
		s.defer_(af)
		opts.Audit = af
	}
	var certs *certReloader
	if f.tlsCert != "" {
		certs = &certReloader{certFile: f.tlsCert, keyFile: f.tlsKey}
		if err := certs.load(); err != nil {
			s.closeAll()
			return err
		}
	}

	store, closer, _, err := s.m.store(ctx, f.store, s.log)
	if err != nil {
		s.closeAll()
		return err
	}
	s.defer_(closer)
	var demoPassword string
	if s.demoCmd {
		if demoPassword, err = setDemoUser(ctx, store); err != nil {
			s.closeAll()
			return err
		}
	}
	if s.ks, err = server.New(store, opts); err != nil {
		s.closeAll()
		return err
	}
	s.defer_(s.ks)

	if s.ln, err = net.Listen("tcp", f.addr); err != nil {
		s.closeAll()
		return err
	}
	var h http.Handler = s.ks.Handler()
	if s.m.hooks.wrap != nil {
		h = s.m.hooks.wrap(h)
	}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.scheme = "http"
	if certs != nil {
		s.scheme = "https"
		s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
		s.stop = make(chan struct{})
		go s.reloadLoop(certs)
	}
	s.errc = make(chan error, 1)
	go func() {
		var err error
		if certs != nil {
			err = s.srv.ServeTLS(s.ln, "", "")
		} else {
			err = s.srv.Serve(s.ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()

	s.log.Info("keycard serving", "url", s.url(), "store", u.String(), "keys_file", kpath, "demo", f.demo, "sealed", f.seal, "admin_keys", len(hashes))
	fmt.Fprintln(s.m.stdout, s.url())
	if s.demoCmd {
		fmt.Fprintf(s.m.stdout, "Open %s/login and sign in as %q with the password %s\n", s.url(), demoUser, demoPassword)
		fmt.Fprintln(s.m.stdout, "The password is shown only this once; `keycard demo` sets a new one at every start.")
	}
	return nil
}

// reloadLoop reloads the certificate at every SIGHUP (or test signal)
// until Close.
func (s *serve) reloadLoop(certs *certReloader) {
	sig := s.m.hooks.reload
	if sig == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		defer signal.Stop(c)
		sig = c
	}
	for {
		select {
		case <-s.stop:
			return
		case <-sig:
			err := certs.load()
			if err != nil {
				s.log.Error("tls: reloading the certificate failed; serving the previous one", "err", err)
			} else {
				s.log.Info("tls: certificate reloaded", "cert", certs.certFile)
			}
			if s.m.hooks.reloaded != nil {
				s.m.hooks.reloaded(err)
			}
		}
	}
}

// Close shuts the server down gracefully: no new connections, and the
// requests in flight get up to 20s to finish before they are cut off. Then
// it closes the server, the store and the audit log.
func (s *serve) Close() error {
	s.closeOnce.Do(func() {
		if s.srv != nil {
			timeout := shutdownTimeout
			if s.m.hooks.shutdownTimeout > 0 {
				timeout = s.m.hooks.shutdownTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err := s.srv.Shutdown(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				s.srv.Close()
				err = fmt.Errorf("shutdown: requests still running after %s were cut off", timeout)
			}
			s.closeErr = err
			if s.stop != nil {
				close(s.stop)
			}
			s.log.Info("keycard stopped")
		}
		if err := s.closeAll(); s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}

// closeAll closes what run opened, last first.
func (s *serve) closeAll() error {
	var errs []error
	for i := len(s.closer) - 1; i >= 0; i-- {
		errs = append(errs, s.closer[i].Close())
	}
	s.closer = nil
	return errors.Join(errs...)
}
