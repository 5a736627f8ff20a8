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

// Judge maps g's verdict to the Manager's action and names the changed signals.
func (k keycardGuard) Judge(stored string, r *http.Request) (keycard.GuardAction, string) {
	v := k.Check(stored, r)
	var a keycard.GuardAction
	switch v.Action {
	case ActionLog:
		a = keycard.GuardLog
	case ActionRequireReauth:
		a = keycard.GuardReauth
	case ActionRevoke:
		a = keycard.GuardRevoke
	}
	return a, v.Signals()
}
