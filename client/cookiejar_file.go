// The file of a CookieJar: loading with the ssh-style permission check,
// and Save's lock, re-read, merge and atomic write.

package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// jarFileVersion is the version of the file format; a file of another
// version is refused rather than half understood.
const jarFileVersion = 1

// jarFile is the JSON document a CookieJar saves.
type jarFile struct {
	Version int      `json:"keycard_cookie_jar"`
	Cookies []*entry `json:"cookies"`
}

// readJarFile returns the cookies of the file at path, none when it does
// not exist. A symlink, or a file its group or others may read or write,
// is refused: the cookies are credentials, and a loose file has leaked
// them already or lets another user plant some (fail closed, as ssh does
// for a key file).
func readJarFile(path string) ([]*entry, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: cookie jar: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("client: cookie jar %s is a symlink; replace it with a regular file", path)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client: cookie jar: %w", err)
	}
	var f jarFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("client: cookie jar %s is not a cookie jar file: %w", path, err)
	}
	if f.Version != jarFileVersion {
		return nil, fmt.Errorf("client: cookie jar %s has version %d, want %d", path, f.Version, jarFileVersion)
	}
	out := f.Cookies[:0]
	for _, e := range f.Cookies {
		if e != nil && e.Name != "" && e.Domain != "" && strings.HasPrefix(e.Path, "/") {
			out = append(out, e)
		}
	}
	return out, nil
}

// checkPrivate refuses a file whose mode lets its group or others in.
// Windows has no such mode bits (its ACLs are not checked here).
func checkPrivate(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("client: cookie jar %s is accessible by others (mode %04o); run chmod 600 %s", path, perm, path)
	}
	return nil
}

// Save writes the jar to its file so that other processes and later runs
// see it. Under a lock on the file's path plus ".lock" (so concurrent
// processes take turns) it re-reads the file and merges: for each cookie
// (domain, path, name) the most recently set version wins; a cookie this
// jar deleted since its last load or save stays deleted unless the file
// holds a version set after the deletion; one that another process
// deleted and this jar did not set again since stays deleted. Expired
// cookies are dropped, and session cookies are written only with
// JarOptions.PersistSessionCookies. The file is replaced atomically
// (a temporary file in the same directory, fsync, rename) at mode 0600 in
// a directory created 0700; afterwards the jar holds the merged cookies.
func (j *CookieJar) Save() error {
	if j.path == "" {
		return errors.New("client: cookie jar has no file to save to")
	}
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return fmt.Errorf("client: cookie jar: %w", err)
	}
	lock := flock.New(j.path+".lock", flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("client: cookie jar lock: %w", err)
	}
	defer lock.Unlock()
	onDisk, err := readJarFile(j.path)
	if err != nil {
		return err
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	kept := j.merge(onDisk, now)
	for _, e := range j.entries {
		if e.persistent() || j.persist {
			kept = append(kept, e)
		}
	}
	slices.SortFunc(kept, func(a, b *entry) int {
		return strings.Compare(a.Domain+"\x00"+a.Path+"\x00"+a.Name, b.Domain+"\x00"+b.Path+"\x00"+b.Name)
	})
	data, err := json.MarshalIndent(jarFile{Version: jarFileVersion, Cookies: kept}, "", "\t")
	if err != nil {
		return fmt.Errorf("client: cookie jar: %w", err)
	}
	if err := writeFileAtomic(j.path, append(data, '\n')); err != nil {
		return err
	}
	clear(j.synced)
	for _, e := range kept {
		j.synced[e.key()] = e.Updated
	}
	clear(j.deleted)
	return nil
}

// merge folds the file's cookies into j.entries as Save describes and
// returns the file's session cookies that this jar does not hold (without
// PersistSessionCookies it neither loads nor drops another process's).
// j.mu is held.
func (j *CookieJar) merge(onDisk []*entry, now time.Time) (passThrough []*entry) {
	disk := make(map[entryKey]*entry, len(onDisk))
	for _, d := range onDisk {
		if d.expired(now) {
			continue
		}
		k := d.key()
		disk[k] = d
		if t, ok := j.deleted[k]; ok && !t.Before(d.Updated) {
			continue // deleted here after the file's version was set
		}
		if !d.persistent() && !j.persist {
			passThrough = append(passThrough, d)
			continue
		}
		if m, ok := j.entries[k]; ok {
			if d.Updated.After(m.Updated) {
				d.seq = m.seq
				j.entries[k] = d
			}
			continue
		}
		j.add(d)
	}
	for k, m := range j.entries {
		if _, ok := disk[k]; ok {
			continue
		}
		if s, ok := j.synced[k]; ok && !m.Updated.After(s) {
			delete(j.entries, k) // another process deleted it
		}
	}
	j.evict(now)
	return passThrough
}

// writeFileAtomic replaces the file at path with data, created at mode
// 0600: a reader sees the old file or the new one, never a part, and a
// crash leaves the old one whole.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return fmt.Errorf("client: cookie jar: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("client: cookie jar: %w", err)
		}
	}()
	if err = f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every system can sync a
	// directory, and the file is already whole either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
