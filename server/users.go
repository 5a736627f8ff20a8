package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storage"
)

// MaxUserNameLen bounds a local user's name, in bytes.
const MaxUserNameLen = 128

// Errors of the user functions, for `keycard users` to explain.
var (
	// ErrUserExists means AddUser found the name taken.
	ErrUserExists = errors.New("server: a user with this name already exists")
	// ErrNoSuchUser means the named user does not exist.
	ErrNoSuchUser = errors.New("server: no such user")
	// ErrNoUsers means the store does not keep local users (storage.Users).
	ErrNoUsers = errors.New("server: this store does not keep local users")
)

// ValidUserName reports why name cannot be a user name, or nil: 1 to
// MaxUserNameLen bytes of UTF-8 without control characters or surrounding
// spaces. A user's name is the subject of their sessions.
func ValidUserName(name string) error {
	switch {
	case name == "":
		return errors.New("server: the user name is empty")
	case len(name) > MaxUserNameLen:
		return fmt.Errorf("server: the user name is longer than %d bytes", MaxUserNameLen)
	case !utf8.ValidString(name):
		return errors.New("server: the user name is not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return errors.New("server: the user name starts or ends with a space")
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("server: the user name contains a control character")
	}
	return nil
}

// ValidPassword reports why password is not acceptable, or nil: at least
// MinPasswordLen and at most MaxPasswordLen bytes (NIST SP 800-63B: length
// matters, composition rules do not).
func ValidPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return fmt.Errorf("server: the password is shorter than %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("server: the password is longer than %d bytes", MaxPasswordLen)
	}
	return nil
}

func usersOf(store storage.Store) (storage.Users, error) {
	u, ok := store.(storage.Users)
	if !ok {
		return nil, ErrNoUsers
	}
	return u, nil
}

// AddUser adds the local user name with password, hashed with argon2id.
func AddUser(ctx context.Context, store storage.Store, name, password string) error {
	users, err := usersOf(store)
	if err != nil {
		return err
	}
	if err := ValidUserName(name); err != nil {
		return err
	}
	if err := ValidPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err = users.CreateUser(ctx, &storage.User{Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, storage.ErrExists) {
		return ErrUserExists
	}
	return err
}

// updateUser applies change to the stored user name, retrying on a
// concurrent change.
func updateUser(ctx context.Context, store storage.Store, name string, change func(*storage.User)) error {
	users, err := usersOf(store)
	if err != nil {
		return err
	}
	for {
		u, err := users.GetUser(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNoSuchUser
		}
		if err != nil {
			return err
		}
		change(u)
		u.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
		err = users.UpdateUser(ctx, u)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNoSuchUser
		}
		return err
	}
}

// SetPassword replaces the password of the user name and ends every
// session of the user (OWASP: a changed password must end the sessions
// that the old one opened), returning how many it ended.
func SetPassword(ctx context.Context, store storage.Store, name, password string) (int, error) {
	if err := ValidPassword(password); err != nil {
		return 0, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return 0, err
	}
	if err := updateUser(ctx, store, name, func(u *storage.User) { u.PasswordHash = hash }); err != nil {
		return 0, err
	}
	return revokeSubject(ctx, store, name)
}

// SetDisabled disables or enables the user name. Disabling ends every
// session of the user at once, on every node sharing the store, and
// returns how many it ended; a login racing it either sees the user
// disabled or has its session ended (see Server's login).
func SetDisabled(ctx context.Context, store storage.Store, name string, disabled bool) (int, error) {
	if err := updateUser(ctx, store, name, func(u *storage.User) { u.Disabled = disabled }); err != nil || !disabled {
		return 0, err
	}
	return revokeSubject(ctx, store, name)
}

// revokeSubject ends every session of subject, server-side and sealed.
func revokeSubject(ctx context.Context, store storage.Store, subject string) (int, error) {
	m, err := keycard.New(store, &keycard.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return m.RevokeAll(ctx, subject, "")
}

// ListUsers returns the local users, ordered by name.
func ListUsers(ctx context.Context, store storage.Store) ([]*storage.User, error) {
	users, err := usersOf(store)
	if err != nil {
		return nil, err
	}
	return users.ListUsers(ctx)
}
