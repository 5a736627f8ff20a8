package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.Users = (*Store)(nil)

// users are the local users of keycard serve, in a map of their own, apart
// from the session shards. One mutex guards it: users change rarely and are
// read once per login.
type users struct {
	mu sync.Mutex
	m  map[string]*storage.User
}

// CreateUser implements storage.Users.
func (st *Store) CreateUser(ctx context.Context, u *storage.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	us := &st.users
	us.mu.Lock()
	defer us.mu.Unlock()
	if _, ok := us.m[u.Name]; ok {
		return storage.ErrExists
	}
	if us.m == nil {
		us.m = map[string]*storage.User{}
	}
	u.Version = 1
	c := u.Clone()
	c.Name = strings.Clone(u.Name)
	us.m[c.Name] = c
	return nil
}

// GetUser implements storage.Users.
func (st *Store) GetUser(ctx context.Context, name string) (*storage.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	us := &st.users
	us.mu.Lock()
	defer us.mu.Unlock()
	u, ok := us.m[name]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return u.Clone(), nil
}

// UpdateUser implements storage.Users.
func (st *Store) UpdateUser(ctx context.Context, u *storage.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	us := &st.users
	us.mu.Lock()
	defer us.mu.Unlock()
	cur, ok := us.m[u.Name]
	if !ok {
		return storage.ErrNotFound
	}
	if cur.Version != u.Version {
		return storage.ErrConflict
	}
	u.Version++
	c := u.Clone()
	c.Name = cur.Name
	us.m[c.Name] = c
	return nil
}

// ListUsers implements storage.Users.
func (st *Store) ListUsers(ctx context.Context) ([]*storage.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	us := &st.users
	us.mu.Lock()
	out := make([]*storage.User, 0, len(us.m))
	for _, u := range us.m {
		out = append(out, u.Clone())
	}
	us.mu.Unlock()
	slices.SortFunc(out, func(a, b *storage.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
