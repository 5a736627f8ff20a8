package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// A LegacyWriter writes records the way an older schema of a store did, so
// that a migration test can check what the migration makes of them.
type LegacyWriter interface {
	// Create inserts the live record r, with version r.Version.
	Create(r *storage.Record)
	// Tombstone turns the live record under h into a tombstone of state
	// (rotated or destroyed) with successor (nil for none) and grace.
	Tombstone(h storage.Hash, state storage.State, successor []byte, grace time.Time)
}

// MigrationFixture writes through w live records (hostile strings, 1 MiB of
// data, nil and empty Meta, zero times, one whose idle deadline has passed),
// rotated tombstones with and without grace, and destroyed tombstones. It
// returns what each record must read back as after the migration.
func MigrationFixture(w LegacyWriter) []*storage.Record {
	now := Now()
	full := func(s string) *storage.Record {
		r := NewRecord(s)
		r.Kind = storage.KindAPI
		r.CreatedAt = now.Add(-3*time.Hour + time.Microsecond)
		r.AuthenticatedAt = now.Add(-2*time.Hour + 2*time.Microsecond)
		r.RenewedAt = now.Add(-time.Hour + 3*time.Microsecond)
		r.IdleTimeout = 45*time.Minute + 7*time.Microsecond
		r.Persistent = true
		r.ID, r.IP, r.UserAgent, r.Fingerprint = s, s, "ua "+s, s+" fp"
		r.Data, r.Meta = []byte(`{"v":"`+s+`"}`), []byte(s+s)
		r.Version = 3
		return r
	}
	var want []*storage.Record
	live := func(r *storage.Record) {
		w.Create(r)
		want = append(want, r)
	}
	hostile := []string{
		"o'brien", `say "hi"`, "'; DROP TABLE sessions; --", "a\x00b", "\x00", "alice\x00",
		"Zoë 用户 🔑", "e\u0301", "\u202eevil", "\xff\xfe invalid utf-8", "line1\nline2\r\n", "%_*?[",
		`\x01\\`, strings.Repeat("ü", 1000),
	}
	for _, s := range hostile {
		live(full(s))
	}
	big := full("big")
	big.Data = bytes.Repeat([]byte("d"), 1<<20)
	big.Meta = bytes.Repeat([]byte("m"), 64<<10)
	live(big)
	anon := NewRecord("") // no subject, AuthenticatedAt zero, Meta nil
	anon.Data = nil
	live(anon)
	emptyMeta := full("empty meta")
	emptyMeta.Meta, emptyMeta.Data = []byte{}, []byte{}
	live(emptyMeta)
	early := full("before 1970")
	early.CreatedAt = time.Date(1969, 7, 20, 20, 17, 40, 999999000, time.UTC)
	early.AuthenticatedAt = time.UnixMicro(-1).UTC()
	early.IdleTimeout = 0
	early.Persistent = false
	live(early)
	expired := NewRecord("expired")
	expired.IdleExpiresAt = now.Add(-time.Minute)
	live(expired)

	// Rotated (with and without grace) and destroyed tombstones.
	for i, s := range []string{"rotated\x00'", "rotated no grace", "destroyed \"x\"", "destroyed 🔑"} {
		old := full(s)
		w.Create(old)
		old.Version++
		switch i {
		case 0, 1:
			next := full(s)
			next.Hash = NewHash()
			next.Version = 1
			grace := now.Add(30 * time.Second)
			if i == 1 {
				grace = time.Time{}
			}
			w.Tombstone(old.Hash, storage.StateRotated, next.Hash[:], grace)
			live(next)
			want = append(want, old.Tombstone(storage.StateRotated, next.Hash, grace))
		default:
			w.Tombstone(old.Hash, storage.StateDestroyed, nil, time.Time{})
			want = append(want, old.Tombstone(storage.StateDestroyed, storage.Hash{}, time.Time{}))
		}
	}
	return want
}

// CheckMigrated reads every record of want from s, by hash and, for live
// records, by ID and subject, and compares it field by field, Meta's
// nil-ness included.
func CheckMigrated(t testing.TB, s storage.Store, want []*storage.Record) {
	t.Helper()
	ctx := context.Background()
	for _, w := range want {
		got, err := s.Get(ctx, w.Hash)
		if err != nil {
			t.Errorf("Get(%q): %v", w.ID, err)
			continue
		}
		if d := Diff(got, w); d != "" {
			t.Errorf("record %q (state %d) after migration:%s", w.ID, w.State, d)
		}
		if (got.Meta == nil) != (w.Meta == nil) {
			t.Errorf("record %q: Meta nil = %v, want %v", w.ID, got.Meta == nil, w.Meta == nil)
		}
		if w.State != storage.StateLive {
			continue
		}
		if got, err := s.GetByID(ctx, w.ID); err != nil || got.Hash != w.Hash {
			t.Errorf("GetByID(%q) = %v, %v; want the live record", w.ID, got, err)
		}
		if w.Subject == "" {
			continue
		}
		l, err := s.List(ctx, w.Subject)
		if err != nil || len(l) != 1 || l[0].Hash != w.Hash {
			t.Errorf("List(%q) = %d records, %v; want the live record", w.Subject, len(l), err)
		}
	}
}
