package storage

import (
	"context"
	"time"
)

// Users is the optional Store interface that keeps the local users of
// `keycard serve`: a name, a password hash and whether the user may sign in.
// Users are records of their own kind, apart from sessions and revocation
// entries: a user's name never reaches a session's keys or the other way
// round, and listing, counting or revoking sessions never sees a user.
//
// Every store that several `keycard serve` processes share keeps its users
// there too, so a user added or disabled through one node is seen by the
// next request to any node. Every method honours ctx cancellation and
// returns the Store sentinels (ErrNotFound, ErrExists, ErrConflict) or a
// store error.
type Users interface {
	// CreateUser stores u with Version 1 (u.Version is set to 1 in place).
	// It fails with ErrExists when u.Name is taken. Names are compared
	// byte for byte.
	CreateUser(ctx context.Context, u *User) error

	// GetUser returns the user called name, or ErrNotFound.
	GetUser(ctx context.Context, name string) (*User, error)

	// UpdateUser replaces the stored user u.Name when its version equals
	// u.Version, stores u.Version+1 and then increments u.Version in place.
	// It fails with ErrNotFound when there is no such user and ErrConflict
	// when the version differs.
	UpdateUser(ctx context.Context, u *User) error

	// ListUsers returns every user, ordered by name.
	ListUsers(ctx context.Context) ([]*User, error)
}

// User is a local user as a Users store keeps it. The store keeps every
// field byte-exact (times Equal, at microsecond precision, UTC) and
// interprets none of them but Name and Version.
type User struct {
	Name         string    // unique; the subject of the user's sessions
	PasswordHash string    // a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash); never a password
	Disabled     bool      // a disabled user cannot sign in
	CreatedAt    time.Time // when the user was added
	UpdatedAt    time.Time // when the user last changed
	Version      int64     // compare-and-swap version, 1 after CreateUser
}

// Clone returns a copy of u.
func (u *User) Clone() *User {
	c := *u
	return &c
}
