package testhook

import (
	"testing"
	"time"
)

type clocked struct{ now func() time.Time }

func init() {
	Register(func(c *clocked, now func() time.Time) { c.now = now })
}

func TestSetNow(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &clocked{now: time.Now}
	SetNow(c, func() time.Time { return t0 })
	if got := c.now(); !got.Equal(t0) {
		t.Fatalf("now() = %v, want %v", got, t0)
	}
}

func TestSetNowUnregistered(t *testing.T) {
	for _, v := range []any{nil, 1, clocked{}, new(int)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetNow(%T) did not panic", v)
				}
			}()
			SetNow(v, time.Now)
		}()
	}
}
