package bench

import (
	"fmt"
	"net/http"
	"testing"
)

// TestScenarios checks the benchmarks' own harness, so that a scenario
// cannot time an error path unnoticed. The floor answers as it should. For
// every library, and for Keycard on every store and in sealed-cookie mode,
// each scenario served through the benchmarks' request loop answers
// request after request as it should, the session the client holds
// afterwards has the seeded value, and then a read through the same loop
// without the cookie finds nothing: the value came from the request's own
// cookie, not from something an earlier request left behind.
func TestScenarios(t *testing.T) {
	t.Run("lib=none/scenario=floor", func(t *testing.T) {
		l := newScenarioLoop(t, floorHandlers(t), floor)
		for range 3 {
			l.next(t)
		}
	})
	type target struct {
		name     string
		handlers func(tb testing.TB) map[string]http.Handler
	}
	var targets []target
	for _, lib := range libraries() {
		targets = append(targets, target(lib))
	}
	for _, be := range storeBackends() {
		targets = append(targets, target{name: "keycard-" + be.name, handlers: func(tb testing.TB) map[string]http.Handler {
			st, _, _ := be.open(tb)
			return keycardOn(tb, st, nil)
		}})
	}
	targets = append(targets, target{name: "keycard-sealed", handlers: sealedHandlers})
	for _, tg := range targets {
		for _, sc := range scenarios {
			t.Run(fmt.Sprintf("lib=%s/scenario=%s", tg.name, sc.name), func(t *testing.T) {
				l := newScenarioLoop(t, tg.handlers(t), sc)
				for range 3 {
					l.next(t)
				}
				l.check(t)
				l.expectRead(t, "", "")
			})
		}
	}
}
