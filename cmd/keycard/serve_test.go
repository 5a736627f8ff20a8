package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"

	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testlog"
	"github.com/keycard-go/keycard/server"
)

// startServe runs `keycard serve args…` (or another serving command) on a
// free loopback port and closes it at the end of the test.
func startServe(t *testing.T, args []string, opts ...opt) (*Main, *testlog.Buffer, *testlog.Buffer) {
	t.Helper()
	m, stdout, stderr := newTestMain(opts...)
	if len(args) == 0 || args[0] != "demo" {
		args = append([]string{"serve"}, args...)
	}
	args = append(args, "--addr", "127.0.0.1:0")
	if err := m.ParseFlags(args); err != nil {
		t.Fatalf("ParseFlags(%q): %v", args, err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("Run(%q): %v\nstderr: %s", args, err, stderr)
	}
	t.Cleanup(func() { m.Close() })
	return m, stdout, stderr
}

func TestServePrintsURL(t *testing.T) {
	m, stdout, _ := startServe(t, []string{"--store", "memory:"})
	addr := m.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() || addr.Port == 0 {
		t.Errorf("Addr() = %v, want a loopback address with a port", addr)
	}
	if got, want := m.URL(), "http://"+addr.String(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if got := stdout.String(); got != m.URL()+"\n" {
		t.Errorf("stdout %q, want the URL alone", got)
	}
	resp, err := http.Get(m.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(m.URL() + "/"); err == nil {
		t.Errorf("the server still answers after Close")
	}
}

func TestServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.0.2.1:80", "example.com:80", "127.0.0.1.example.com:80", "localhost.evil:80", "8080"} {
		t.Run(addr, func(t *testing.T) {
			got := run(t, []string{"serve", "--store", "memory:", "--addr", addr})
			if got.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", got.code, exitUsage, got.stderr)
			}
			if addr == "8080" {
				return // not host:port at all
			}
			for _, want := range []string{"refusing plain HTTP", "--tls-cert", "--tls-key", "--insecure-allow-http"} {
				if !strings.Contains(got.stderr, want) {
					t.Errorf("stderr %q lacks %q", got.stderr, want)
				}
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:8080", "127.8.9.10:8080", "[::1]:8080", "localhost:8080", "LOCALHOST:8080"} {
		if !isLoopback(addr) {
			t.Errorf("isLoopback(%q) = false", addr)
		}
	}
	// The flag allows it; the flags check passes without listening.
	f := parseServe(t, []string{"--addr", "0.0.0.0:8080", "--insecure-allow-http"}, nil)
	if err := f.check(); err != nil {
		t.Errorf("--insecure-allow-http: %v", err)
	}
	f = parseServe(t, []string{"--addr", "0.0.0.0:8443", "--tls-cert", "c", "--tls-key", "k"}, nil)
	if err := f.check(); err != nil {
		t.Errorf("TLS: %v", err)
	}
}

func TestServeKeyFile(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "keycard.db")
	keys := filepath.Join(dir, keyFileName)

	m, _, stderr := startServe(t, []string{"--store", store})
	fi, err := os.Stat(keys)
	if err != nil {
		t.Fatalf("no key file next to the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(keys)
	kf, err := readKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(kf.SigningKeys) != 1 || len(kf.SealSecrets) != 1 || len(kf.FingerprintKey) != 32 || len(kf.AuditSalt) != 32 {
		t.Errorf("new key file: %d signing keys, %d seal secrets, %d-byte fingerprint key, %d-byte audit salt",
			len(kf.SigningKeys), len(kf.SealSecrets), len(kf.FingerprintKey), len(kf.AuditSalt))
	}
	if !strings.Contains(stderr.String(), "created the key file") {
		t.Errorf("the log does not say the key file was created: %s", stderr)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// A restart reuses the file as it is.
	_, _, stderr = startServe(t, []string{"--store", store})
	again, _ := os.ReadFile(keys)
	if !bytes.Equal(first, again) {
		t.Errorf("the restart changed the key file")
	}
	if strings.Contains(stderr.String(), "created the key file") {
		t.Errorf("the restart created a key file")
	}

	// --keys-file puts it elsewhere.
	other := filepath.Join(dir, "elsewhere.json")
	startServe(t, []string{"--store", "memory:", "--keys-file", other})
	if _, err := readKeyFile(other); err != nil {
		t.Errorf("--keys-file: %v", err)
	}
}

// TestServeRestartKeepsSessions creates a session through the admin API
// with a key from `keycard keys admin`, restarts the server on the same
// sqlite file and key file, and checks that the session, its token and the
// published signing keys are still the same.
func TestServeRestartKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "keycard.db")
	got := run(t, []string{"keys", "admin", "--store", store})
	if got.code != exitOK {
		t.Fatalf("keys admin: %+v", got)
	}
	admin := strings.TrimSpace(got.stdout)

	m, _, _ := startServe(t, []string{"--store", store})
	body := `{"subject":"alice","kind":"api","user_agent":"restart-test"}`
	req, _ := http.NewRequest("POST", m.URL()+"/v1/admin/sessions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.Token == "" {
		t.Fatalf("POST /v1/admin/sessions: %s", resp.Status)
	}
	jwks := get(t, m.URL()+"/.well-known/jwks.json", "")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m, _, _ = startServe(t, []string{"--store", store})
	if got := get(t, m.URL()+"/.well-known/jwks.json", ""); got != jwks {
		t.Errorf("the JWKS changed across the restart:\n%s\n%s", jwks, got)
	}
	session := get(t, m.URL()+"/v1/session", created.Token)
	if !strings.Contains(session, `"subject":"alice"`) {
		t.Errorf("GET /v1/session after the restart: %s", session)
	}
	if health := get(t, m.URL()+"/healthz", ""); !strings.Contains(health, `"version":"`+version()+`"`) {
		t.Errorf("GET /healthz: %s", health)
	}
}

// get returns the body of a GET that must answer 200.
func get(t *testing.T, url, bearer string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("User-Agent", "restart-test")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

func TestServeMemoryWithoutKeyFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, _, stderr := startServe(t, []string{"--store", "memory:"})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve --store memory: wrote %v", entries)
	}
	if !strings.Contains(stderr.String(), "throwaway") {
		t.Errorf("no warning about throwaway keys: %s", stderr)
	}
}

func TestServeSharedStoreNeedsKeyFile(t *testing.T) {
	for _, store := range []string{"redis://127.0.0.1:1", "postgres://127.0.0.1:1/keycard"} {
		got := run(t, []string{"serve", "--store", store})
		if got.code != exitUsage || !strings.Contains(got.stderr, "needs --keys-file") {
			t.Errorf("serve --store %s: exit %d, stderr %q", store, got.code, got.stderr)
		}
	}
}

func TestServeRefusesLooseKeyFile(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	kf, err := newKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyFile(keys, kf, false); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(keys, mode); err != nil {
			t.Fatal(err)
		}
		got := run(t, []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0", "--keys-file", keys})
		if got.code != exitError {
			t.Errorf("mode %04o: exit %d, want %d", mode, got.code, exitError)
		}
		if want := "chmod 600 " + keys; !strings.Contains(got.stderr, want) {
			t.Errorf("mode %04o: stderr %q lacks %q", mode, got.stderr, want)
		}
	}
	os.Chmod(keys, 0o400)
	startServe(t, []string{"--store", "memory:", "--keys-file", keys})
}

func TestServeRefusesBadKeyFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":           "",
		"not json":        "signing_keys: []",
		"unknown field":   `{"version":1,"secret":"x"}`,
		"newer version":   `{"version":2}`,
		"no signing keys": `{"version":1,"fingerprint_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","audit_salt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		"bad pem":         `{"version":1,"signing_keys":[{"pem":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}]}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(path, []byte(content), 0o600)
		got := run(t, []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0", "--keys-file", path})
		if got.code != exitError || !strings.Contains(got.stderr, path) {
			t.Errorf("%s: exit %d, stderr %q", name, got.code, got.stderr)
		}
		if strings.Contains(got.stderr, "c2VjcmV0") {
			t.Errorf("%s: the error repeats the file's content: %q", name, got.stderr)
		}
	}
}

func TestServeAdminKeys(t *testing.T) {
	dir := t.TempDir()
	key1, hash1, _ := server.NewAdminKey()
	key2, hash2, _ := server.NewAdminKey()
	_, hash3, _ := server.NewAdminKey()
	file := filepath.Join(dir, "admin-keys")
	os.WriteFile(file, []byte("# the backend\n"+hash2+"\n\n  # old\n"+hash3+"\n"), 0o644)

	m, _, _ := newTestMain(withEnv(map[string]string{"KEYCARD_ADMIN_KEY": key1}))
	if err := m.ParseFlags([]string{"serve", "--admin-key-file", file}); err != nil {
		t.Fatal(err)
	}
	s := m.runner.(*serve)
	got, err := s.f.adminKeyHashes(&keyFile{AdminKeyHashes: []string{hash1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{hash1, hash2, hash3, hash1}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("admin key hashes %q, want %q", got, want)
	}

	// A file that holds a key is a secret: refused when loose.
	os.WriteFile(file, []byte(key2+"\n"), 0o644)
	if _, err := readAdminKeyFile(file); err == nil || !strings.Contains(err.Error(), "chmod 600 "+file) {
		t.Errorf("loose admin key file with a key: %v", err)
	}
	os.Chmod(file, 0o600)
	if hs, err := readAdminKeyFile(file); err != nil || len(hs) != 1 || hs[0] != hash2 {
		t.Errorf("admin key file with a key: %q, %v", hs, err)
	}
	os.WriteFile(file, []byte(hash2+"\nkcadm_short\n"), 0o600)
	if _, err := readAdminKeyFile(file); err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "kcadm_short") {
		t.Errorf("bad line: %v", err)
	}
}

func TestServeAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	startServe(t, []string{"--store", "memory:", "--audit-log", path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %04o, want 0600", fi.Mode().Perm())
	}
}

func TestDemoDefaultStore(t *testing.T) {
	m, _, _ := newTestMain()
	if err := m.ParseFlags([]string{"demo"}); err != nil {
		t.Fatal(err)
	}
	if f := m.runner.(*serve).f; f.store != "sqlite:keycard.db" || !f.demo {
		t.Errorf("demo: store %q, demo %v", f.store, f.demo)
	}
}

func TestDemo(t *testing.T) {
	store := newMemStore(t)
	m, stdout, _ := startServe(t, []string{"demo", "--store", "memory:"}, withStore(store))
	out := stdout.String()
	if !strings.HasPrefix(out, m.URL()+"\n") || !strings.Contains(out, m.URL()+"/login") || !strings.Contains(out, `"demo"`) {
		t.Errorf("demo printed %q", out)
	}
	if !m.runner.(*serve).f.demo {
		t.Errorf("demo does not serve the demo site")
	}
	password := demoPasswordOf(t, out)
	login := func(password string) int {
		body, _ := json.Marshal(map[string]string{"username": demoUser, "password": password})
		resp, err := http.Post(m.URL()+"/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := login(password); code != http.StatusCreated {
		t.Errorf("login with the printed password: %d, want 201", code)
	}
	if code := login(password + "x"); code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: %d, want 401", code)
	}
	m.Close()

	// A second start resets the password.
	_, stdout, _ = startServe(t, []string{"demo", "--store", "memory:"}, withStore(store))
	if again := demoPasswordOf(t, stdout.String()); again == password {
		t.Errorf("the second start kept the password")
	}
	users, err := server.ListUsers(t.Context(), store)
	if err != nil || len(users) != 1 || users[0].Name != demoUser || users[0].Disabled {
		t.Errorf("users after two demos: %v, %v", users, err)
	}
}

func demoPasswordOf(t *testing.T, out string) string {
	t.Helper()
	_, after, ok := strings.Cut(out, "with the password ")
	if !ok {
		t.Fatalf("no password in %q", out)
	}
	p, _, _ := strings.Cut(after, "\n")
	if len(p) < server.MinPasswordLen {
		t.Fatalf("demo password %q is too short", p)
	}
	return p
}

// TestGracefulShutdown checks that Close lets a request in flight finish
// and refuses new connections meanwhile.
func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(entered)
				<-release
				io.WriteString(w, "finished")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	m, _, _ := startServe(t, []string{"--store", "memory:"}, func(m *Main) { m.hooks.wrap = wrap })
	type answer struct {
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Get(m.URL() + "/slow")
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answers <- answer{string(b), err}
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	// Wait until the listener is closed: a new connection is refused.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener is still open during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	if a := <-answers; a.err != nil || a.body != "finished" {
		t.Errorf("the request in flight got %q, %v", a.body, a.err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestShutdownCutsOffSlowRequests checks that a request that outlives the
// shutdown timeout is cut off and Close says so.
func TestShutdownCutsOffSlowRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	wrap := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
		})
	}
	m, _, _ := startServe(t, []string{"--store", "memory:"}, func(m *Main) {
		m.hooks.wrap = wrap
		m.hooks.shutdownTimeout = 50 * time.Millisecond
	})
	go http.Get(m.URL() + "/")
	<-entered
	if err := m.Close(); err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Errorf("Close: %v, want a cut-off error", err)
	}
}

// TestExecServesUntilCancelled runs serve as main does: until the context
// (SIGINT, SIGTERM) is done, then exit 0.
func TestExecServesUntilCancelled(t *testing.T) {
	m, stdout, stderr := newTestMain()
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	codes := make(chan int, 1)
	go func() {
		codes <- m.Exec(ctx, []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0"}, func() {
			select {
			case <-stopped:
			default:
				close(stopped)
			}
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.HasPrefix(stdout.String(), "http://"); {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stderr %s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	url := strings.TrimSpace(stdout.String())
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-codes; code != exitOK {
		t.Errorf("exit %d, want 0; stderr %s", code, stderr)
	}
	select {
	case <-stopped:
	default:
		t.Error("Exec did not call stop")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "keycard test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// servedSerial connects to addr and returns the serial number of the
// certificate it presents.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the test checks the serial itself
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestServeTLSAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	reload := make(chan os.Signal)
	reloaded := make(chan error)
	m, _, stderr := startServe(t, []string{"--store", "memory:", "--tls-cert", certFile, "--tls-key", keyFile}, func(m *Main) {
		m.hooks.reload = reload
		m.hooks.reloaded = func(err error) { reloaded <- err }
	})
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("URL() = %q, want https", m.URL())
	}
	if got := servedSerial(t, m.Addr().String()); got != 1 {
		t.Errorf("serial %d, want 1", got)
	}
	// The server speaks HTTPS with this certificate.
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(b)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(m.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()

	writeCert(t, certFile, keyFile, 2)
	reload <- syscall.SIGHUP
	if err := <-reloaded; err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := servedSerial(t, m.Addr().String()); got != 2 {
		t.Errorf("after the reload: serial %d, want 2", got)
	}

	// A broken pair is logged and the previous certificate kept.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	reload <- syscall.SIGHUP
	if err := <-reloaded; err == nil {
		t.Fatal("reloading a broken key succeeded")
	}
	if got := servedSerial(t, m.Addr().String()); got != 2 {
		t.Errorf("after a failed reload: serial %d, want 2", got)
	}
	if !strings.Contains(stderr.String(), "serving the previous one") {
		t.Errorf("the failed reload is not logged: %s", stderr)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestServeTLSBadCert(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	os.WriteFile(cert, []byte("nothing"), 0o600)
	got := run(t, []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", cert})
	if got.code != exitError || !strings.Contains(got.stderr, "tls:") {
		t.Errorf("bad certificate: exit %d, stderr %q", got.code, got.stderr)
	}
}
