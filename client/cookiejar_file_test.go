package client

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func names(j *CookieJar) []string {
	var out []string
	for _, c := range j.All() {
		out = append(out, c.Name+"="+c.Value)
	}
	slices.Sort(out)
	return out
}

func TestJarPersistRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "keycard", "cookies.json")
	j, _ := newTestJar(t, path, nil)
	set(t, j, "https://www.example.com/app/x",
		"host=1; Max-Age=3600; Secure; HttpOnly; SameSite=Strict",
		"dom=2; Domain=example.com; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
		`q="quoted value"; Max-Age=3600`,
		"session=3")
	want := j.All()
	if err := j.Save(); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir, path + ".lock": 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != mode {
				t.Errorf("%s: mode %v, want %v", p, fi.Mode(), mode)
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	j2, _ := newTestJar(t, path, nil)
	got := j2.All()
	want = slices.DeleteFunc(want, func(c Cookie) bool { return c.Name == "session" })
	if len(got) != len(want) {
		t.Fatalf("reloaded %d cookies, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Value != w.Value || g.Domain != w.Domain || g.HostOnly != w.HostOnly ||
			g.Path != w.Path || g.Secure != w.Secure || g.HTTPOnly != w.HTTPOnly || g.SameSite != w.SameSite ||
			!g.Expires.Equal(w.Expires) || !g.Created.Equal(w.Created) || !g.Updated.Equal(w.Updated) {
			t.Errorf("reloaded %+v, want %+v", g, w)
		}
	}
	if got, want := sent(t, j2, "https://www.example.com/app/y"), `host=1; q="quoted value"; dom=2`; got != want {
		t.Errorf("reloaded jar sends %q, want %q", got, want)
	}
}

func TestJarSessionCookiesOptional(t *testing.T) {
	for _, persist := range []bool{false, true} {
		t.Run(fmt.Sprint(persist), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cookies.json")
			opts := &JarOptions{PersistSessionCookies: persist}
			j, _ := newTestJar(t, path, opts)
			set(t, j, "http://example.com/", "s=1", "p=2; Max-Age=60")
			if err := j.Save(); err != nil {
				t.Fatal(err)
			}
			if got := names(j); len(got) != 2 {
				t.Errorf("after Save the jar holds %q, want both cookies still", got)
			}
			j2, _ := newTestJar(t, path, opts)
			want := []string{"p=2"}
			if persist {
				want = []string{"p=2", "s=1"}
			}
			if got := names(j2); !slices.Equal(got, want) {
				t.Errorf("reloaded %q, want %q", got, want)
			}
		})
	}
}

func TestJarExpiredNotSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.json")
	j, clock := newTestJar(t, path, nil)
	set(t, j, "http://example.com/", "short=1; Max-Age=10", "long=2; Max-Age=1000")
	clock.Advance(time.Minute)
	if err := j.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "short") {
		t.Errorf("the file holds the expired cookie:\n%s", data)
	}
}

func TestJarLooseFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cookies.json")
	j, _ := newTestJar(t, path, nil)
	set(t, j, "http://example.com/", "a=1; Max-Age=60")
	if err := j.Save(); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := OpenCookieJar(path, nil)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %o: OpenCookieJar error %v, want one saying chmod 600 %s", mode, err, path)
		}
		if err := j.Save(); err == nil {
			t.Errorf("mode %o: Save merged a loose file", mode)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCookieJar(link, nil); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("OpenCookieJar(symlink) error %v, want a refusal", err)
	}
	for _, bad := range []string{"not json", `{"keycard_cookie_jar": 2, "cookies": []}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCookieJar(path, nil); err == nil {
			t.Errorf("OpenCookieJar accepted %q", bad)
		}
	}
	if err := (&CookieJar{}).Save(); err == nil {
		t.Error("Save of a jar without a file succeeded")
	}
}

// TestJarMergeOnSave has two jars on one file stand for two processes.
func TestJarMergeOnSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.json")
	a, clockA := newTestJar(t, path, nil)
	b, clockB := newTestJar(t, path, nil)
	tick := func() { clockA.Advance(time.Second); clockB.Advance(time.Second) }
	save := func(j *CookieJar) {
		t.Helper()
		if err := j.Save(); err != nil {
			t.Fatal(err)
		}
	}
	const site = "http://example.com/"

	set(t, a, site, "x=a; Max-Age=999", "w=a; Max-Age=999")
	save(a)
	tick()
	set(t, b, site, "y=b; Max-Age=999")
	save(b) // b picks up x and w, the file holds all three
	if got, want := names(b), []string{"w=a", "x=a", "y=b"}; !slices.Equal(got, want) {
		t.Fatalf("b after its save: %q, want %q", got, want)
	}

	tick()
	set(t, a, site, "x=; Max-Age=0") // a deletes x
	tick()
	set(t, b, site, "y=b2; Max-Age=999", "w=b; Max-Age=999") // b updates y and w, after a's deletion
	tick()
	set(t, a, site, "w=; Max-Age=0") // a deletes w after b's update
	save(b)
	save(a) // a's deletions: x (b never changed it) and w (deleted after b's update)
	if got, want := names(a), []string{"y=b2"}; !slices.Equal(got, want) {
		t.Errorf("a after its save: %q, want %q", got, want)
	}
	save(b) // b unchanged since its save: it learns both deletions
	if got, want := names(b), []string{"y=b2"}; !slices.Equal(got, want) {
		t.Errorf("b after its second save: %q, want %q", got, want)
	}

	tick()
	set(t, b, site, "z=b; Max-Age=999")
	tick()
	set(t, a, site, "z=a; Max-Age=999") // the later set wins
	save(a)
	save(b)
	for _, j := range []*CookieJar{a, b} {
		if got := sent(t, j, site); !strings.Contains(got, "z=a") {
			t.Errorf("sent %q, want the later z=a", got)
		}
	}
	tick()
	set(t, b, site, "y=; Max-Age=0") // b deletes, then a sets it again later
	tick()
	set(t, a, site, "y=again; Max-Age=999")
	save(a)
	save(b)
	if got, want := names(b), []string{"y=again", "z=a"}; !slices.Equal(got, want) {
		t.Errorf("b: %q, want %q (a set y after b deleted it)", got, want)
	}
	final, _ := newTestJar(t, path, nil)
	if got, want := names(final), []string{"y=again", "z=a"}; !slices.Equal(got, want) {
		t.Errorf("the file holds %q, want %q", got, want)
	}
}

const childEnv = "KEYCARD_COOKIEJAR_CHILD"

// TestJarChildHelper is the child process of TestJarMergeChildProcess; it
// does nothing in a normal run.
func TestJarChildHelper(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("run by TestJarMergeChildProcess")
	}
	path, name, _ := strings.Cut(spec, "|")
	for i := range 5 {
		j, err := OpenCookieJar(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		j.SetCookieLines(mustURL(t, "http://example.com/"), []string{fmt.Sprintf("%s%d=1; Max-Age=3600", name, i)})
		if err := j.Save(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJarMergeChildProcess runs real processes (this test binary again)
// saving to one file at once: the lock and merge keep every cookie.
func TestJarMergeChildProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookies.json")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenCookieJar(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const children = 4
	var wg sync.WaitGroup
	errs := make(chan error, children)
	for c := range children {
		wg.Go(func() {
			cmd := exec.Command(exe, "-test.run=^TestJarChildHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|child%d-", childEnv, path, c))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child %d: %v\n%s", c, err, out)
			}
		})
	}
	for i := range 5 {
		j.SetCookieLines(mustURL(t, "http://example.com/"), []string{fmt.Sprintf("parent%d=1; Max-Age=3600", i)})
		if err := j.Save(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := j.Save(); err != nil {
		t.Fatal(err)
	}
	if got := len(j.All()); got != (children+1)*5 {
		t.Errorf("the parent holds %d cookies after merging, want %d: %q", got, (children+1)*5, names(j))
	}
	again, err := OpenCookieJar(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(again.All()); got != (children+1)*5 {
		t.Errorf("the file holds %d cookies, want %d", got, (children+1)*5)
	}
}
