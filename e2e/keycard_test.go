package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests of this file run the built `keycard` binary, as users do: a
// separate process per node, talking to it over HTTP only.

var keycardBin = struct {
	once sync.Once
	path string
	err  error
	dir  string
}{}

// keycardBinary builds ./cmd/keycard once per test run.
func keycardBinary(t testing.TB) string {
	t.Helper()
	keycardBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "keycard-e2e-")
		if err != nil {
			keycardBin.err = err
			return
		}
		keycardBin.dir = dir
		keycardBin.path = filepath.Join(dir, "keycard")
		cmd := exec.Command("go", "build", "-o", keycardBin.path, "../cmd/keycard")
		if out, err := cmd.CombinedOutput(); err != nil {
			keycardBin.err = &buildError{err, out}
		}
	})
	if keycardBin.err != nil {
		t.Fatalf("building keycard: %v", keycardBin.err)
	}
	return keycardBin.path
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func TestMain(m *testing.M) {
	code := m.Run()
	if keycardBin.dir != "" {
		os.RemoveAll(keycardBin.dir)
	}
	os.Exit(code)
}

// keycardCmd runs `keycard args...` to completion with stdin and returns
// its stdout, failing the test on a non-zero exit.
func keycardCmd(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(keycardBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "KEYCARD_LOG_LEVEL=warn")
	if err := cmd.Run(); err != nil {
		t.Fatalf("keycard %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// node is a running `keycard serve`.
type node struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	args []string
	done chan struct{}
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startNode starts `keycard serve --addr 127.0.0.1:0 args...` and waits
// for the URL it prints once it is ready.
func startNode(t testing.TB, args ...string) *node {
	t.Helper()
	n := &node{t: t, args: args}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	n.t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, n.args...)
	cmd := exec.Command(keycardBinary(n.t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	n.logs = &lockedBuffer{}
	cmd.Stderr = n.logs
	started := time.Now()
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = cmd.Wait(); close(n.done) }()
	select {
	case n.url = <-lines:
	case <-n.done:
		n.t.Fatalf("keycard serve exited before it was ready:\n%s", n.logs)
	case <-time.After(30 * time.Second):
		n.t.Fatalf("keycard serve printed no URL in 30 s:\n%s", n.logs)
	}
	if !strings.HasPrefix(n.url, "http://127.0.0.1:") {
		n.t.Fatalf("keycard serve printed %q, want its URL", n.url)
	}
	n.t.Logf("keycard serve %s ready at %s in %v", strings.Join(n.args, " "), n.url, time.Since(started).Round(time.Millisecond))
}

// stop ends the node gracefully (SIGTERM) and waits for it.
func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(25 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		n.t.Errorf("keycard serve did not stop within 25 s of SIGTERM")
	}
	n.cmd = nil
}

// kill ends the node with SIGKILL: no shutdown, no flush.
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// call sends a JSON request to the node and returns the status and the
// decoded body.
func (n *node) call(method, path, token string, body any) (int, map[string]any) {
	n.t.Helper()
	status, out, err := callURL(n.url, method, path, token, body)
	if err != nil {
		n.t.Fatal(err)
	}
	return status, out
}

// callURL sends body as JSON with Authorization: Bearer token (a session
// token or an admin key) and decodes the answer.
func callURL(base, method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return res.StatusCode, nil, err
		}
	}
	return res.StatusCode, out, nil
}

// login logs user in through n and returns the token and refresh token.
func (n *node) login(user, password string) (token, refresh string) {
	n.t.Helper()
	status, out := n.call("POST", "/v1/login", "", map[string]string{"username": user, "password": password})
	if status != http.StatusCreated {
		n.t.Fatalf("login %s through %s: %d %v", user, n.url, status, out)
	}
	return out["token"].(string), out["refresh_token"].(string)
}

// want checks a call's status and error code ("" for a success) and
// returns the decoded body.
func (n *node) want(method, path, token string, body any, status int, code string) map[string]any {
	n.t.Helper()
	got, out := n.call(method, path, token, body)
	e, _ := out["error"].(map[string]any)
	gotCode, _ := e["code"].(string)
	if got != status || gotCode != code {
		n.t.Fatalf("%s %s through %s: %d %v, want %d %q", method, path, n.url, got, out, status, code)
	}
	return out
}
