package keycard

import "github.com/keycard-go/keycard/storage"

// Kind says through which transport a session's token is accepted: a token
// of one kind is never accepted through the other transport. It is
// storage.Kind, named here for applications.
type Kind = storage.Kind

const (
	// KindBrowser sessions travel in a cookie.
	KindBrowser = storage.KindBrowser
	// KindAPI sessions travel in an "Authorization: Bearer" header.
	KindAPI = storage.KindAPI
)
