package binrec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// setLive decodes the live column b into r as the stores do.
func setLive(r *storage.Record, b []byte) error { return SetColumns(r, nil, nil, nil, b) }

// liveFields returns a record with only the fields the live column holds.
func liveFields(r *storage.Record) *storage.Record {
	return &storage.Record{
		CreatedAt: r.CreatedAt, AuthenticatedAt: r.AuthenticatedAt, RenewedAt: r.RenewedAt,
		LastSeenAt: r.LastSeenAt, IdleExpiresAt: r.IdleExpiresAt, IdleTimeout: r.IdleTimeout,
		Persistent: r.Persistent, IP: r.IP, UserAgent: r.UserAgent, Fingerprint: r.Fingerprint, Meta: r.Meta,
	}
}

func TestLiveRoundTrip(t *testing.T) {
	full := storetest.NewRecord("alice")
	full.AuthenticatedAt = full.CreatedAt.Add(-time.Hour)
	full.IdleTimeout = 45*time.Minute + time.Nanosecond
	full.Persistent = true
	full.IP, full.UserAgent, full.Fingerprint = "2001:db8::1", "Mozilla/5.0 (X11) Keycard/1", "fp-0123"
	full.Meta = []byte(`{"csrf":"abc"}`)
	with := func(f func(r *storage.Record)) *storage.Record { r := full.Clone(); f(r); return r }
	tests := []struct {
		name string
		r    *storage.Record
	}{
		{"full", full},
		{"zero", &storage.Record{}},
		{"meta nil", with(func(r *storage.Record) { r.Meta = nil })},
		{"meta empty", with(func(r *storage.Record) { r.Meta = []byte{} })},
		{"nul bytes", with(func(r *storage.Record) {
			r.IP, r.UserAgent, r.Fingerprint, r.Meta = "\x00", "a\x00b", "\x00\x00", []byte("\x00")
		})},
		{"invalid utf-8", with(func(r *storage.Record) { r.UserAgent, r.Meta = "\xff\xfe\xc3", []byte("\xc3\x28") })},
		{"quotes and unicode", with(func(r *storage.Record) { r.UserAgent = `'; DROP TABLE sessions; -- "Zoë 用户 🔑"` })},
		{"long strings", with(func(r *storage.Record) {
			r.UserAgent, r.Meta = strings.Repeat("ü", 70000), bytes.Repeat([]byte("m"), 1<<20)
		})},
		{"epoch and before", with(func(r *storage.Record) {
			r.CreatedAt, r.AuthenticatedAt, r.RenewedAt = time.Unix(0, 0).UTC(), time.UnixMicro(-1).UTC(), time.UnixMicro(1).UTC()
		})},
		{"year 1 plus 1µs", with(func(r *storage.Record) { r.LastSeenAt = time.Time{}.Add(time.Microsecond) })},
		{"far future", with(func(r *storage.Record) { r.IdleExpiresAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC) })},
		{"some times zero", with(func(r *storage.Record) { r.AuthenticatedAt, r.RenewedAt = time.Time{}, time.Time{} })},
		{"negative idle timeout", with(func(r *storage.Record) { r.IdleTimeout = -1 })},
		{"max idle timeout", with(func(r *storage.Record) { r.IdleTimeout = math.MaxInt64 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeLive(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			var got storage.Record
			if err := setLive(&got, b); err != nil {
				t.Fatalf("SetColumns: %v", err)
			}
			if d := storetest.Diff(&got, liveFields(tt.r)); d != "" {
				t.Errorf("round trip differs:%s", d)
			}
			if (got.Meta == nil) != (tt.r.Meta == nil) {
				t.Errorf("Meta nil = %v, want %v", got.Meta == nil, tt.r.Meta == nil)
			}
			for _, tm := range []time.Time{got.CreatedAt, got.AuthenticatedAt, got.RenewedAt, got.LastSeenAt, got.IdleExpiresAt} {
				if tm.Location() != time.UTC {
					t.Errorf("time %v in %v, want UTC", tm, tm.Location())
				}
			}
			// The decoded record does not alias the column (the driver may reuse it).
			if len(got.Meta) > 0 {
				for i := range b {
					b[i] = 0xAA
				}
				if !bytes.Equal(got.Meta, tt.r.Meta) {
					t.Error("Meta changed with the bytes it was decoded from")
				}
			}
		})
	}
}

func TestLiveCorrupt(t *testing.T) {
	r := storetest.NewRecord("alice")
	r.IP, r.Meta = "192.0.2.1", []byte(`{}`)
	good, err := EncodeLive(r)
	if err != nil {
		t.Fatal(err)
	}
	ipAt := liveFixed       // the uint32 length of IP
	metaAt := len(good) - 7 // the Meta presence byte, then length 2 and "{}"
	if good[metaAt] != 1 {
		t.Fatalf("layout changed: Meta flag at %d is %d", metaAt, good[metaAt])
	}
	set := func(at int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[at:], v)
		return b
	}
	unsetTime := set(1, binary.BigEndian.AppendUint64(nil, uint64(time.Time{}.UnixMicro()))...)
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"format only", []byte{liveFormat}},
		{"format 0", set(0, 0)},
		{"format 2", set(0, 2)},
		{"format 255", set(0, 255)},
		{"persistent 2", set(liveFixed-1, 2)},
		{"meta flag 2", set(metaAt, 2)},
		{"ip length beyond end", set(ipAt, 0, 0, 1, 0)},
		{"ip length max", set(ipAt, 0xff, 0xff, 0xff, 0xff)},
		{"meta length beyond end", set(metaAt+1, 0, 0, 0, 3)},
		{"meta length short", set(metaAt+1, 0, 0, 0, 1)},
		{"zero time not as zeroTime", unsetTime},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"trailing record", append(bytes.Clone(good), good...)},
	}
	for n := range len(good) {
		tests = append(tests, struct {
			name string
			b    []byte
		}{fmt.Sprintf("truncated to %d of %d", n, len(good)), good[:n]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got storage.Record
			if err := setLive(&got, tt.b); err == nil {
				t.Error("SetColumns succeeded")
			}
		})
	}
}

func FuzzDecodeLive(f *testing.F) {
	r := storetest.NewRecord("alice")
	r.IP, r.Meta, r.Persistent = "192.0.2.1\x00", []byte(`{"a":1}`), true
	for _, rec := range []*storage.Record{r, {}, {Meta: []byte{}}} {
		b, err := EncodeLive(rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{liveFormat})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got storage.Record
		if err := setLive(&got, b); err != nil {
			return
		}
		// Whatever decodes is canonical: it encodes back to the same bytes.
		again, err := EncodeLive(&got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("decode then encode changed the bytes:\n%x\n%x", b, again)
		}
	})
}

// TestSetColumnsTombstone: a tombstone has no live column; its strings and
// data are copied out of the row's bytes all the same.
func TestSetColumnsTombstone(t *testing.T) {
	id, subject := []byte("id-1"), []byte("alice\x00")
	r := storage.Record{State: storage.StateDestroyed}
	if err := SetColumns(&r, id, subject, nil, nil); err != nil {
		t.Fatal(err)
	}
	copy(id, "XXXX")
	copy(subject, "XXXXXX")
	if r.ID != "id-1" || r.Subject != "alice\x00" || r.Data != nil || r.Meta != nil || r.IP != "" {
		t.Errorf("tombstone read as %+v", r)
	}
	live := storage.Record{}
	if err := SetColumns(&live, id, subject, nil, nil); err == nil {
		t.Error("a live record without its live column was accepted")
	}
}
