package guard_test

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keycard-go/keycard/guard"
)

// TestLimiterUnderSynctest is how an application tests the limiter's
// refill without a clock option: in a synctest bubble, time.Now is the
// bubble's clock, and sleeping moves it at once.
func TestLimiterUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := guard.New(bytes.Repeat([]byte{42}, 32), &guard.Options{InvalidPerMinute: 60, InvalidBurst: 1})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		if ok, _ := g.Invalid(r); !ok {
			t.Fatal("the first invalid token was refused")
		}
		if ok, retry := g.Invalid(r); ok || retry != time.Second {
			t.Fatalf("the second: ok %v, retry %v; want refused for 1s", ok, retry)
		}
		time.Sleep(time.Second)
		if ok, _ := g.Invalid(r); !ok {
			t.Fatal("refused after a full refill")
		}
	})
}
