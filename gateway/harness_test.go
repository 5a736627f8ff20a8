// Package gateway_test runs Keycard's gateway mode behind real reverse
// proxies: Debian's nginx and Caddy, each started by the test on a free
// loopback port with the configuration of docs/gateway.md, in front of an
// upstream that echoes the headers it received, with Keycard's server as the
// auth service.
package gateway_test

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testlog"
	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/server"
	"github.com/keycard-go/keycard/storage"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	loginURL     = "/keycard/login"
)

// templates are the proxy configurations, the same text docs/gateway.md
// shows (TestDocsShowTestedConfigs).
//
//go:embed testdata/*.tmpl
var templates embed.FS

// configParams are what a configuration template is filled with.
type configParams struct {
	Listen  string // nginx: the listen address
	Site    string // Caddy: the site address
	Keycard string // host:port of Keycard
	App     string // host:port of the app
}

// render fills the template name of testdata with p.
func render(t testing.TB, name string, p configParams) string {
	t.Helper()
	tmpl, err := template.ParseFS(templates, "testdata/"+name+".tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// need returns the path of the proxy binary, or skips the test naming the
// Debian package, except under CI=true where a missing proxy fails it.
func need(t testing.TB, pkg string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(filepath.Base(paths[0])); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found; install the Debian package %q to run the real-proxy tests", paths[0], pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing proxy is a failure)")
	}
	t.Skip(msg)
	return ""
}

// freeAddr returns a loopback address whose port is free now. Another
// process may take it before the proxy binds; startProxy retries.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// keycardOptions configure the auth service of a test.
type keycardOptions struct {
	renewal, grace time.Duration
	store          storage.Store // default a memstore
}

// env is one test's set-up: Keycard, the app, and the proxy in front.
type env struct {
	t     *testing.T
	kc    *server.Server
	kcURL string
	app   *echoApp
	proxy string // base URL of the proxy
}

// newKeycard starts Keycard's server on memstore, with the user alice, the
// proxy on 127.0.0.1 trusted and the login page under /keycard/.
func newKeycard(t testing.TB, o keycardOptions) (*server.Server, *httptest.Server) {
	t.Helper()
	store := o.store
	if store == nil {
		m := memstore.New(nil)
		t.Cleanup(func() { m.Close() })
		store = m
		if err := server.AddUser(context.Background(), store, testUser, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	key, err := jwt.GenerateKey(jwt.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(store, &server.Options{
		SigningKeys:     []*jwt.SigningKey{key},
		FingerprintKey:  bytes.Repeat([]byte{7}, 32),
		TrustedProxies:  []string{"127.0.0.1"},
		GatewayLoginURL: loginURL,
		RenewalTimeout:  o.renewal,
		RenewalGrace:    o.grace,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return s, srv
}

// echoApp is the upstream: it answers every request with the method, URI
// and headers it received, as JSON, and counts the requests.
type echoApp struct {
	*httptest.Server
	hits atomic.Int64
	last atomic.Pointer[string] // the request URI of the last request
}

type echoed struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

func newEchoApp(t testing.TB) *echoApp {
	a := &echoApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		uri := r.RequestURI
		a.last.Store(&uri)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{r.Method, r.RequestURI, r.Header})
	}))
	t.Cleanup(a.Close)
	return a
}

func hostport(rawURL string) string { return strings.TrimPrefix(rawURL, "http://") }

// proxyKind starts one proxy in front of Keycard and the app and returns
// its base URL; it is stopped when the test ends.
type proxyKind struct {
	name  string
	start func(t testing.TB, kc, app string) string
}

func newEnv(t *testing.T, p proxyKind, o keycardOptions) *env {
	t.Helper()
	kc, kcSrv := newKeycard(t, o)
	app := newEchoApp(t)
	e := &env{t: t, kc: kc, kcURL: kcSrv.URL, app: app}
	e.proxy = p.start(t, hostport(kcSrv.URL), hostport(app.URL))
	return e
}

// process is a proxy process started by a test.
type process struct {
	cmd    *exec.Cmd
	out    *testlog.Buffer
	exited chan struct{}
}

// startProxy starts the command try returns for a free address and waits
// until the proxy answers GET /keycard/healthz there, trying again on
// another address when the start fails, since the free port may have been
// taken in between. It returns the proxy's base URL.
func startProxy(t testing.TB, name string, try func(addr string) (*exec.Cmd, error)) string {
	t.Helper()
	var lastErr error
	for range 3 {
		addr := freeAddr(t)
		cmd, err := try(addr)
		if err != nil {
			t.Fatal(err)
		}
		p := &process{cmd: cmd, out: &testlog.Buffer{}, exited: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = p.out, p.out
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		base := "http://" + addr
		if lastErr = waitReady(base, p.exited); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-p.exited:
				case <-time.After(5 * time.Second):
					_ = cmd.Process.Kill()
					<-p.exited
				}
				if t.Failed() {
					t.Logf("%s output:\n%s", name, p.out.String())
				}
			})
			return base
		}
		_ = cmd.Process.Kill()
		<-p.exited
		lastErr = fmt.Errorf("%w\n%s", lastErr, p.out.String())
	}
	t.Fatalf("%s did not start: %v", name, lastErr)
	return ""
}

// waitReady polls base's /keycard/healthz (Keycard through the proxy)
// until it answers 200, the process exits, or 10 seconds pass.
func waitReady(base string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/keycard/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("healthz: %s", res.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process, bounded by the deadline
	}
}

// client talks to the proxy like a browser or an API client: it keeps the
// cookies the responses set (by hand: the session cookie is Secure and
// __Host-, which net/http/cookiejar keeps off plain HTTP) and never follows
// redirects.
type client struct {
	t       *testing.T
	base    string
	cookies map[string]string
	browser bool   // sends Accept: text/html
	bearer  string // an API session's token
}

func (e *env) browser() *client {
	return &client{t: e.t, base: e.proxy, cookies: map[string]string{}, browser: true}
}

func (e *env) apiClient() *client {
	return &client{t: e.t, base: e.proxy, cookies: map[string]string{}}
}

// result is a finished response with its body read.
type result struct {
	*http.Response
	body []byte
}

// echo decodes what the app received; it fails the test when the request
// did not reach the app.
func (r result) echo(t *testing.T) echoed {
	t.Helper()
	var e echoed
	if r.StatusCode != http.StatusOK || json.Unmarshal(r.body, &e) != nil || e.Method == "" {
		t.Fatalf("%s %s: %d %s, want the app's echo", r.Request.Method, r.Request.URL, r.StatusCode, r.body)
	}
	return e
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// do sends method path with body and header lines "Name: value".
func (c *client) do(method, path string, body io.Reader, headers ...string) result {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.browser {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return result{res, b}
}

func (c *client) get(path string, headers ...string) result {
	c.t.Helper()
	return c.do("GET", path, nil, headers...)
}

// loginAPI logs alice in through the proxy with POST /keycard/v1/login and
// keeps the API session's token.
func (c *client) loginAPI() {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": testUser, "password": testPassword})
	res := c.do("POST", "/keycard/v1/login", bytes.NewReader(body), "Content-Type: application/json")
	if res.StatusCode != http.StatusCreated {
		c.t.Fatalf("login through the proxy: %d %s", res.StatusCode, res.body)
	}
	var cred struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(res.body, &cred); err != nil || cred.Token == "" {
		c.t.Fatalf("login answer %s: %v", res.body, err)
	}
	c.bearer = cred.Token
}

// signIn gives the browser a browser session of alice, the way a login
// page does: a session cookie.
func (e *env) signIn(c *client) {
	e.t.Helper()
	cred, err := e.kc.Manager().Issue(context.Background(), keycard.IssueOptions{Subject: testUser, Kind: keycard.KindBrowser})
	if err != nil {
		e.t.Fatal(err)
	}
	c.cookies[e.kc.Manager().CookieName()] = string(cred.Token)
}

// rawRequest sends request line and headers as they are over a new TCP
// connection to the proxy and returns the status code of the answer (0
// when the proxy closed the connection without one).
func rawRequest(t *testing.T, base, requestLine string, headers ...string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostport(base), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	msg := requestLine + "\r\nHost: " + hostport(base) + "\r\nConnection: close\r\n"
	for _, h := range headers {
		msg += h + "\r\n"
	}
	if _, err := io.WriteString(conn, msg+"\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := readLine(conn)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0
		}
		t.Fatalf("%q: %v", requestLine, err)
	}
	// "HTTP/1.1 400 Bad Request"
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("%q: status line %q", requestLine, line)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("%q: status line %q", requestLine, line)
	}
	return code
}

func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return strings.TrimRight(string(b), "\r"), nil
			}
			b = append(b, one[0])
		}
		if err != nil {
			if len(b) == 0 {
				return "", err
			}
			return string(b), nil
		}
	}
}
