// Package testhook lets Keycard's own tests set the clock of a value from
// another package that has no public clock option (a guard.Guard, a
// seal.Sealer), so that tests of the session layer can move the guard's and
// the sealer's time with the Manager's. Applications cannot import it; they
// test under testing/synctest, where time.Now is the bubble's clock.
//
// A package with such a clock registers a setter for its type from an init
// function; SetNow finds it by the value's type.
package testhook

import (
	"fmt"
	"time"
)

// setters are the registered clock setters; each reports whether v was of
// its type. Written only by init functions, so read without a lock.
var setters []func(v any, now func() time.Time) bool

// Register makes SetNow work on values of type *T with set. It must be
// called from an init function.
func Register[T any](set func(v *T, now func() time.Time)) {
	setters = append(setters, func(v any, now func() time.Time) bool {
		p, ok := v.(*T)
		if ok {
			set(p, now)
		}
		return ok
	})
}

// SetNow makes v read the time from now. v must be of a registered type and
// not yet in use by other goroutines; SetNow panics when no setter is
// registered for v's type.
func SetNow(v any, now func() time.Time) {
	for _, set := range setters {
		if set(v, now) {
			return
		}
	}
	panic(fmt.Sprintf("testhook: no clock setter registered for %T", v))
}
