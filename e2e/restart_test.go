package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard/jwt"
)

// TestRestartKeepsEverything: on the default embedded store, a graceful
// restart keeps every session, refresh token and signing key valid.
func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "keycard.db")
	keycardCmd(t, testPassword+"\n", "users", "add", testUser, "--password-stdin", "--store", store)
	n := startNode(t, "--store", store)
	token, refresh := n.login(testUser, testPassword)
	out := n.want("POST", "/v1/session/jwt", token, map[string]string{"audience": "billing"}, http.StatusOK, "")
	access := out["access_token"].(string)

	n.stop()
	n.start()

	n.want("GET", "/v1/session", token, nil, http.StatusOK, "")
	n.want("POST", "/v1/session/refresh", "", map[string]string{"refresh_token": refresh}, http.StatusOK, "")
	// The token minted before the restart verifies with the JWKS after it.
	ks, err := jwt.NewRemoteKeySet(context.Background(), n.url+"/.well-known/jwks.json", &jwt.RemoteOptions{InsecureAllowHTTP: true}) // loopback
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier("keycard", "billing", ks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), access); err != nil {
		t.Fatalf("a token signed before the restart: %v", err)
	}
}

// TestKill9LosesNoAcknowledgedSession: logins run against the embedded
// store while the process is killed with SIGKILL; after a restart, every
// session whose 201 reached its client still works.
func TestKill9LosesNoAcknowledgedSession(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "keycard.db")
	keycardCmd(t, "", "keys", "generate", "--store", store)
	admin := keycardCmd(t, "", "keys", "admin", "--store", store)
	admin = admin[:len(admin)-1]
	n := startNode(t, "--store", store)

	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				status, out, err := callAdmin(n.url, admin, fmt.Sprintf("user-%d-%d", w, i))
				if err != nil {
					return // the process is gone
				}
				if status == http.StatusCreated {
					mu.Lock()
					acked = append(acked, out["token"].(string))
					mu.Unlock()
				}
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.kill()
	stop.Store(true)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d sessions were created before the kill", len(acked))
	}

	n.start()
	for i, token := range acked {
		if status, out := n.call("GET", "/v1/session", token, nil); status != http.StatusOK {
			t.Fatalf("acknowledged session %d of %d lost after kill -9: %d %v", i, len(acked), status, out)
		}
	}
	t.Logf("%d acknowledged sessions, all there after kill -9 and a restart", len(acked))
}

func callAdmin(base, key, subject string) (int, map[string]any, error) {
	return callURL(base, "POST", "/v1/admin/sessions", key, map[string]string{"subject": subject})
}
