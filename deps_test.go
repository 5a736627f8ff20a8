package keycard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoDrivers keeps the core packages free of everything but
// the standard library and golang.org/x, so an application that imports only
// the core compiles no database driver.
func TestCoreImportsNoDrivers(t *testing.T) {
	core := []string{".", "./storage", "./memstore", "./storetest", "./seal", "./csrf", "./guard", "./internal/cookiehdr", "./internal/binrec", "./internal/jsonobj", "./internal/lru", "./internal/ratelimit", "./internal/testhook"}
	var pkgs []string
	for _, p := range core {
		if err := exec.Command("go", "list", p).Run(); err == nil {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no core package found")
	}
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{}
	for _, p := range core {
		allowed[strings.TrimSuffix("github.com/keycard-go/keycard/"+strings.TrimPrefix(p, "./"), "/.")] = true
	}
	for _, dep := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dep, "golang.org/x/") && !allowed[dep] {
			t.Errorf("core package depends on %s", dep)
		}
	}
}
