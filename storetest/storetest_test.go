package storetest_test

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

const mutantEnv = "KEYCARD_STORETEST_MUTANT"

func TestReferenceStore(t *testing.T) {
	storetest.RunMerger(t, func(t *testing.T) storage.Merger { return newRefStore() })
}

// TestSuiteCatchesMutants runs the suite against copies of the reference
// store that each carry one deliberate bug, and requires the suite to fail.
func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a mutant run")
	}
	if testing.Short() {
		t.Skip("slow: re-runs the suite once per mutant")
	}
	mutants := []string{
		"ignore ctx", "create over tombstone", "tombstone ID taken", "retain",
		"cut at NUL", "millisecond times", "write tombstone", "no CAS",
		"rotate keeps subject", "rotate keeps ID index", "rotate keeps version", "rotate ignores subject",
		"forget", "list tombstones", "prefix subjects", "delete anonymous",
		"ignore except", "ignore limit", "tombstone by idle", "early expiry",
		"by ID from a stale index",
		"deny keeps earlier until", "deny ends the session", "revoke not atomic", "generation restarts",
		"revoke unannounced", "kinds share keys", "deny by prefix", "sweep keeps revocations",
		"merge any kind", "merge past the idle deadline", "merge first change only", "merge keeps version",
		"merge returns the old record", "merge not atomic",
	}
	for _, m := range mutants {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestReferenceStore$", "-test.count=1", "-test.failfast")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m)
			out, err := cmd.CombinedOutput()
			if err == nil || !bytes.Contains(out, []byte("--- FAIL: TestReferenceStore/")) {
				t.Errorf("the suite did not fail a subtest for a store with the bug %q (%v)\n%s", m, err, out)
			}
		})
	}
}
