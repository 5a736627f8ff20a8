package sqlitestore_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// crashChildEnv names the database a re-executed test binary writes to
// until it is killed.
const crashChildEnv = "KEYCARD_SQLITESTORE_CRASH_CHILD"

// TestCrashChild is the child side of TestCrashSafety: it is skipped unless
// the environment names a database.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("only run as the child of TestCrashSafety")
	}
	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		r := storetest.NewRecord(fmt.Sprintf("user-%d", i%7))
		if err := s.Create(context.Background(), r); err != nil {
			fmt.Fprintln(out, "error:", err)
			out.Flush()
			os.Exit(1)
		}
		if i%3 == 0 { // some updates, so that the WAL holds more than inserts
			r.Data = []byte(`{"updated":true}`)
			if err := s.Update(context.Background(), r); err != nil {
				fmt.Fprintln(out, "error:", err)
				out.Flush()
				os.Exit(1)
			}
		}
		// The write is acknowledged: report it before the next one.
		fmt.Fprintf(out, "ack %s %d\n", hex.EncodeToString(r.Hash[:]), r.Version)
		out.Flush()
	}
}

// TestCrashSafety kills a process that writes sessions with SIGKILL in the
// middle of its stream; the reopened database must pass integrity_check and
// hold every session whose write was acknowledged.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		h       storage.Hash
		version uint64
	}
	var acks []ack
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		var hx string
		var v uint64
		if _, err := fmt.Sscanf(line, "ack %s %d", &hx, &v); err != nil {
			if strings.HasPrefix(line, "error:") {
				t.Fatalf("child: %s", line)
			}
			continue // test framework output
		}
		var a ack
		b, err := hex.DecodeString(hx)
		if err != nil || len(b) != len(a.h) {
			t.Fatalf("child printed %q", line)
		}
		copy(a.h[:], b)
		a.version = v
		acks = append(acks, a)
		if len(acks) == 300 && !killed {
			// Mid-stream: the child is writing its next session now.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if len(acks) < 300 {
		t.Fatalf("child acknowledged %d sessions before it died, want at least 300", len(acks))
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, want ok", check)
	}

	s := open(t, path, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, a := range acks {
		r, err := s.Get(ctx, a.h)
		if err != nil {
			t.Fatalf("acknowledged session %d of %d: Get: %v", i+1, len(acks), err)
		}
		if r.Version != a.version {
			t.Errorf("acknowledged session %d: Version %d, want %d", i+1, r.Version, a.version)
		}
	}
	t.Logf("%d acknowledged sessions survived SIGKILL", len(acks))
}
