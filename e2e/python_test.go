package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// TestPythonClient: a client in another language, Python 3 with its
// standard library only (testdata/client.py), logs in, asks who it is,
// refreshes, lists its devices and logs out against the built binary on
// its default embedded store.
func TestPythonClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is missing: install Debian's python3 package")
		}
		t.Skip("python3 is missing (Debian package python3): the client in another language cannot run")
	}
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "keycard.db")
	keycardCmd(t, testPassword+"\n", "users", "add", testUser, "--password-stdin", "--store", store)
	n := startNode(t, "--store", store)

	cmd := exec.Command(python, "testdata/client.py", n.url, testUser)
	cmd.Stdin = strings.NewReader(testPassword + "\n")
	out, err := cmd.CombinedOutput()
	t.Logf("client.py:\n%s", out)
	if err != nil {
		t.Fatalf("the Python client failed: %v", err)
	}
	if !strings.Contains(string(out), "all steps passed") {
		t.Fatal("the Python client did not finish")
	}
}
