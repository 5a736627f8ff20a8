package guard

import (
	"net/http"

	"github.com/keycard-go/keycard"
)

// Keycard returns g in the form the session Manager consults
// (keycard.Options.Guard): the invalid-token limiter runs before every store
// lookup, the fingerprint is recorded at login, and each later request is
// judged against it with g's Actions.
func (g *Guard) Keycard() keycard.Guard { return keycardGuard{g} }

type keycardGuard struct{ *Guard }

// Judge returns g's verdict: its action and the changed signals.
func (k keycardGuard) Judge(stored string, r *http.Request) (keycard.GuardAction, string) {
	v := k.Check(stored, r)
	return v.Action, v.Signals()
}
