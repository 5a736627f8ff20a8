package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// commandPaths lists every command and group, as words.
func commandPaths() [][]string {
	var paths [][]string
	for _, c := range commands {
		paths = append(paths, []string{c.name})
		for _, s := range c.sub {
			paths = append(paths, []string{c.name, s.name})
		}
	}
	return paths
}

func TestHelp(t *testing.T) {
	top := run(t, []string{"--help"})
	if top.code != exitOK || top.stderr != "" {
		t.Fatalf("keycard --help: exit %d, stderr %q", top.code, top.stderr)
	}
	want := []string{"Usage:", "Exit codes:", "KEYCARD_"}
	for _, c := range commands {
		if c.sub == nil {
			want = append(want, "  "+c.name+" ")
		}
		for _, s := range c.sub {
			want = append(want, "  "+c.name+" "+s.name+" ")
		}
	}
	for _, w := range want {
		if !strings.Contains(top.stdout, w) {
			t.Errorf("keycard --help does not mention %q:\n%s", w, top.stdout)
		}
	}
	if got := run(t, []string{"help"}); got.stdout != top.stdout || got.code != exitOK {
		t.Errorf("keycard help differs from keycard --help")
	}
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			got := run(t, append(slices.Clone(path), "--help"))
			if got.code != exitOK {
				t.Fatalf("keycard %s --help: exit %d, stderr %q", name, got.code, got.stderr)
			}
			for _, want := range []string{"Usage:\n  keycard " + name, "Exit codes:"} {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("keycard %s --help lacks %q:\n%s", name, want, got.stdout)
				}
			}
			cmd := find(commands, path[0])
			if len(path) == 2 {
				cmd = find(cmd.sub, path[1])
			}
			if cmd.sub == nil && !strings.Contains(got.stdout, "Examples:\n  keycard") {
				t.Errorf("keycard %s --help has no examples:\n%s", name, got.stdout)
			}
			for _, s := range cmd.sub {
				if !strings.Contains(got.stdout, s.name) {
					t.Errorf("keycard %s --help does not list %s", name, s.name)
				}
			}
			for _, h := range [][]string{append(slices.Clone(path), "-h"), append([]string{"help"}, path...)} {
				if other := run(t, h); other.stdout != got.stdout || other.code != exitOK {
					t.Errorf("keycard %s: exit %d, output differs from --help", strings.Join(h, " "), other.code)
				}
			}
		})
	}
}

// TestServeHelpFlags checks that serve's help names every flag the issue
// asks for, each with its environment variable.
func TestServeHelpFlags(t *testing.T) {
	got := run(t, []string{"serve", "--help"})
	for _, f := range []string{"addr", "store", "idle-timeout", "absolute-timeout", "renewal-timeout", "renewal-grace",
		"tls-cert", "tls-key", "insecure-allow-http", "admin-key", "admin-key-file", "trusted-proxy", "demo",
		"keys-file", "issuer", "log-format", "log-level", "audit-log", "seal", "gateway-login-url", "allowed-origin"} {
		if !strings.Contains(got.stdout, "--"+f+" ") && !strings.Contains(got.stdout, "--"+f+"\n") {
			t.Errorf("serve --help lacks --%s", f)
		}
		if !strings.Contains(got.stdout, "[$"+envName(f)+"]") {
			t.Errorf("serve --help lacks $%s", envName(f))
		}
	}
	if !strings.Contains(got.stdout, "(default 127.0.0.1:8080)") || !strings.Contains(got.stdout, "(default sqlite:keycard.db)") {
		t.Errorf("serve --help does not show the defaults of --addr and --store:\n%s", got.stdout)
	}
}

// exitTest is a command line, its exit code and a part of its stderr.
type exitTest struct {
	name   string
	args   []string
	env    map[string]string
	code   int
	stderr string
}

func testExits(t *testing.T, tests []exitTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.args, withEnv(tt.env))
			if got.code != tt.code {
				t.Errorf("keycard %q: exit %d, want %d; stderr %q", tt.args, got.code, tt.code, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("keycard %q: stderr %q, want it to contain %q", tt.args, got.stderr, tt.stderr)
			}
			if tt.code == exitUsage && tt.args != nil && !strings.Contains(got.stderr, "help") {
				t.Errorf("keycard %q: a usage error that does not point to the help: %q", tt.args, got.stderr)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	testExits(t, []exitTest{
		{name: "no command", args: nil, code: exitUsage, stderr: "no command given"},
		{name: "unknown subcommand", args: []string{"serve", "now"}, code: exitUsage, stderr: "takes no arguments"},
		{name: "unknown command", args: []string{"serv"}, code: exitUsage, stderr: `unknown command "serv"`},
		{name: "unknown flag", args: []string{"serve", "--port", "80"}, code: exitUsage, stderr: "--port"},
		{name: "bad flag value", args: []string{"serve", "--idle-timeout", "soon"}, code: exitUsage, stderr: "idle-timeout"},
		{name: "negative timeout", args: []string{"serve", "--store", "memory:", "--idle-timeout", "-1s"}, code: exitUsage, stderr: "may not be negative"},
		{name: "bad env value", args: []string{"serve"}, env: map[string]string{"KEYCARD_IDLE_TIMEOUT": "soon"}, code: exitUsage, stderr: "KEYCARD_IDLE_TIMEOUT"},
		{name: "unknown help topic", args: []string{"help", "nothing"}, code: exitUsage, stderr: "unknown command"},
		{name: "bad store", args: []string{"serve", "--store", "mysql://db"}, code: exitUsage, stderr: "the forms are memory:"},
		{name: "sqlite without path", args: []string{"serve", "--store", "sqlite:"}, code: exitUsage, stderr: "needs a file path"},
		{name: "bad log level", args: []string{"serve", "--store", "memory:", "--log-level", "loud"}, code: exitUsage, stderr: "--log-level"},
		{name: "bad log format", args: []string{"serve", "--store", "memory:", "--log-format", "xml"}, code: exitUsage, stderr: "--log-format"},
		{name: "half TLS", args: []string{"serve", "--store", "memory:", "--tls-cert", "c.pem"}, code: exitUsage, stderr: "go together"},
		{name: "bad trusted proxy", args: []string{"serve", "--store", "memory:", "--trusted-proxy", "10.0.0.0/99"}, code: exitUsage, stderr: "--trusted-proxy"},
		{name: "bad admin key", args: []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0", "--admin-key", "hunter2"}, code: exitUsage, stderr: "not an admin key"},
		{name: "error", args: []string{"serve", "--store", "memory:", "--addr", "127.0.0.1:0", "--tls-cert", dir + "/none.pem", "--tls-key", dir + "/none.pem"}, code: exitError, stderr: "none.pem"},
		{name: "version", args: []string{"version"}, code: exitOK},
		{name: "--version", args: []string{"--version"}, code: exitOK},
	})
	if got := run(t, []string{"version"}); !strings.HasPrefix(got.stdout, "keycard ") {
		t.Errorf("keycard version printed %q", got.stdout)
	}
}

// parseServe parses a serve command line and returns its flags.
func parseServe(t *testing.T, args []string, vars map[string]string) *serveFlags {
	t.Helper()
	m, _, _ := newTestMain(withEnv(vars))
	if err := m.ParseFlags(append([]string{"serve"}, args...)); err != nil {
		t.Fatalf("ParseFlags(%q): %v", args, err)
	}
	return &m.runner.(*serve).f
}

func TestEnvAndFlags(t *testing.T) {
	vars := map[string]string{
		"KEYCARD_ADDR":                "127.0.0.2:9000",
		"KEYCARD_STORE":               "memory:",
		"KEYCARD_IDLE_TIMEOUT":        "5m",
		"KEYCARD_INSECURE_ALLOW_HTTP": "true",
		"KEYCARD_ADMIN_KEY":           "sha256:aa, sha256:bb,,",
		"KEYCARD_TRUSTED_PROXY":       "10.0.0.0/8,192.0.2.1",
		"KEYCARD_LOG_FORMAT":          "json",
	}
	f := parseServe(t, nil, vars)
	if f.addr != "127.0.0.2:9000" || f.store != "memory:" || f.idle != 5*time.Minute || !f.insecureHTTP || f.logFormat != "json" {
		t.Errorf("from the environment: %+v", f)
	}
	if got, want := []string(f.adminKeys), []string{"sha256:aa", "sha256:bb"}; !slices.Equal(got, want) {
		t.Errorf("KEYCARD_ADMIN_KEY gave %q, want %q", got, want)
	}
	if got, want := []string(f.trustedProxies), []string{"10.0.0.0/8", "192.0.2.1"}; !slices.Equal(got, want) {
		t.Errorf("KEYCARD_TRUSTED_PROXY gave %q, want %q", got, want)
	}

	// A flag beats its variable, a repeated flag replaces the whole list,
	// and an unset variable leaves the default.
	f = parseServe(t, []string{"--addr", "127.0.0.1:0", "--admin-key", "sha256:cc", "--admin-key=sha256:dd", "--insecure-allow-http=false"}, vars)
	if f.addr != "127.0.0.1:0" || f.insecureHTTP {
		t.Errorf("flags did not beat the environment: %+v", f)
	}
	if got, want := []string(f.adminKeys), []string{"sha256:cc", "sha256:dd"}; !slices.Equal(got, want) {
		t.Errorf("--admin-key twice gave %q, want %q", got, want)
	}
	if f.renewal != 0 || f.logLevel != "info" {
		t.Errorf("defaults changed: %+v", f)
	}

	f = parseServe(t, nil, nil)
	if f.addr != "127.0.0.1:8080" || f.store != "sqlite:keycard.db" || f.keysFile != "" || f.auditLog != "" || f.demo || f.seal {
		t.Errorf("defaults: %+v", f)
	}
}
