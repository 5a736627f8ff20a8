// Command serverload measures Keycard's HTTP server (package server, what
// `keycard serve` runs) over loopback, in one run:
//
//   - throughput: requests per second of GET /v1/session, each with the
//     Bearer token of one of -sessions API sessions taken round-robin, from
//     -conns keep-alive connections for -duration, on every store, next to
//     a bare net/http hello world (the floor) fed the same requests; -rounds
//     rounds, the targets in a new order each round with the floor run
//     between every two, and the medians of the rates and of each target's
//     ratio to the floor runs on either side of it;
//   - latency: p50, p99 and max of the same request sent at a fixed -rate
//     for -rate-duration (vegeta's open-loop attacker);
//   - cold start: from opening a fresh SQLite file to the first 200 from
//     /healthz, in the server's process, and from starting the process.
//
// Every answer's status is checked (200, or 401 for the bad-token control);
// any other status or a transport error fails the run (exit status 1),
// after the table is printed. Each server runs in a process of its own (this
// program with -serve), on the same two cores as the load generator; Redis
// and PostgreSQL are started from the binaries on PATH and skipped, with a
// message, when those are not installed.
//
//	go run ./serverload [-duration 5s] [-rounds 3] [-out results/server.md]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/keycard-go/keycard/bench/internal/stats"
	"github.com/keycard-go/keycard/internal/testserver"
)

func main() {
	var cfg serveConfig
	flag.StringVar(&cfg.kind, "serve", "", "run one server (`kind`) for the benchmark instead of the benchmark; internal")
	flag.StringVar(&cfg.url, "store-url", "", "with -serve: the store's file or URL; internal")
	flag.StringVar(&cfg.cpuprofile, "server-cpuprofile", "", "with -serve: write a CPU profile of the serving to `file`; internal")
	var o options
	flag.IntVar(&cfg.sessions, "sessions", 1000, "API sessions per store, requested round-robin")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one throughput run")
	flag.IntVar(&o.rounds, "rounds", 3, "throughput rounds (each target once a round)")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive connections of a throughput run")
	flag.IntVar(&o.rate, "rate", 2000, "requests per second of the latency run")
	flag.DurationVar(&o.rateDuration, "rate-duration", 10*time.Second, "length of a latency run")
	flag.IntVar(&o.startups, "startups", 5, "cold starts to time")
	flag.StringVar(&o.targets, "targets", "hello,memstore,sqlite,redis,postgres", "comma-separated targets")
	flag.StringVar(&o.out, "out", "results/server.md", "write the markdown table to `file` too (\"\" for none)")
	flag.StringVar(&o.keycardBin, "keycard-bin", "", "also time the cold start of `keycard serve` from this binary")
	flag.StringVar(&o.profileDir, "cpuprofile-dir", "", "write each server's CPU profile to `dir`/TARGET.pprof")
	flag.Parse()
	if cfg.kind != "" {
		if err := serve(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "serverload -serve:", err)
			os.Exit(1)
		}
		return
	}
	o.sessions = cfg.sessions
	ok, err := run(o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverload:", err)
		os.Exit(1)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "serverload: some requests did not get the answer they should: the figures above are not valid")
		os.Exit(1)
	}
}

type options struct {
	duration, rateDuration time.Duration
	rounds, conns, rate    int
	startups, sessions     int
	targets, out           string
	profileDir, keycardBin string
}

// target is one server under load.
type target struct {
	name string
	proc *child
	load load
	res  result
}

// result is what was measured of a target.
type result struct {
	rates, ratios []float64 // per round
	lat           latencies
	bad           tally // every failed request of every phase
}

func run(o options, stdout io.Writer) (ok bool, err error) {
	self, err := os.Executable()
	if err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp("", "keycard-serverload-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)

	loadBefore := loadAverage()
	var targets []*target
	var skipped []string
	defer func() {
		for _, t := range targets {
			t.proc.stop()
		}
	}()
	names := strings.Split(o.targets, ",")
	if !slices.Contains(names, "hello") {
		return false, errors.New("-targets must include hello, the floor every ratio is to")
	}
	for _, name := range names {
		url := ""
		var stop func()
		var err error
		switch name {
		case "hello", "memstore":
		case "sqlite":
			url = filepath.Join(dir, "keycard.db")
		case "redis":
			var r *testserver.Redis
			if r, stop, err = testserver.LaunchRedis(nil); err == nil {
				url = r.URL()
			}
		case "postgres":
			var pg *testserver.Postgres
			if pg, stop, err = testserver.LaunchPostgres(); err == nil {
				url = pg.URL("")
			}
		default:
			return false, fmt.Errorf("unknown target %q", name)
		}
		if errors.Is(err, testserver.ErrNotInstalled) {
			skipped = append(skipped, fmt.Sprintf("%s: skipped (%v)", name, err))
			continue
		}
		if err != nil {
			return false, err
		}
		if stop != nil {
			defer stop()
		}
		args := []string{"-serve", name, "-store-url", url, "-sessions", fmt.Sprint(o.sessions)}
		if o.profileDir != "" {
			args = append(args, "-server-cpuprofile", filepath.Join(o.profileDir, name+".pprof"))
		}
		p, err := start(self, args...)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		t := &target{name: name, proc: p}
		targets = append(targets, t)
		for _, tok := range p.ready.Tokens {
			t.load.headers = append(t.load.headers, "Authorization: Bearer "+tok)
		}
		t.load.addr, t.load.path, t.load.want = p.ready.Addr, "/v1/session", http.StatusOK
	}
	for _, s := range skipped {
		fmt.Fprintln(os.Stderr, "serverload:", s)
	}
	floor := targets[slices.IndexFunc(targets, func(t *target) bool { return t.name == "hello" })]
	for _, t := range targets { // the floor gets the same request bytes as Keycard's targets
		if len(t.load.headers) > 0 {
			floor.load.headers = t.load.headers
		}
	}

	// Check every session once (which also warms every record), and that
	// a bad token is refused: a server that answered 200 to anything
	// would make every figure below meaningless.
	for _, t := range targets {
		if err := check(t); err != nil {
			return false, fmt.Errorf("%s: %w", t.name, err)
		}
		tl, _ := throughput(t.load, o.conns, time.Second) // warm-up
		t.res.bad.add(badOnly(tl))
	}

	// A round runs the floor before every other target and after the
	// last, the others in a new order each round, and a target's ratio is
	// its rate over the mean of the floor's runs on either side: the
	// machine's speed drifts by tens of percent over a minute, and a ratio
	// means something only when both sides saw the same drift.
	others := slices.DeleteFunc(slices.Clone(targets), func(t *target) bool { return t == floor })
	runOnce := func(r int, t *target) float64 {
		tl, rate := throughput(t.load, o.conns, o.duration)
		t.res.bad.add(badOnly(tl))
		t.res.rates = append(t.res.rates, rate)
		fmt.Fprintf(os.Stderr, "round %d: %-8s %8.0f req/s%s\n", r+1, t.name, rate, problemSuffix(tl))
		return rate
	}
	for r := range o.rounds {
		order := slices.Clone(others)
		if len(order) > 0 {
			k := r % len(order)
			order = append(order[k:], order[:k]...)
		}
		before := runOnce(r, floor)
		for _, t := range order {
			rate := runOnce(r, t)
			after := runOnce(r, floor)
			t.res.ratios = append(t.res.ratios, rate/((before+after)/2))
			before = after
		}
	}
	floor.res.ratios = []float64{1}
	for _, t := range targets {
		warm := fixedRate(t.load, o.rate, time.Second) // vegeta's workers and connections
		t.res.bad.add(badOnly(warm.tally))
		t.res.lat = fixedRate(t.load, o.rate, o.rateDuration)
		t.res.bad.add(badOnly(t.res.lat.tally))
		fmt.Fprintf(os.Stderr, "%d/s: %-8s p50 %v p99 %v max %v%s\n", o.rate, t.name, t.res.lat.p50, t.res.lat.p99, t.res.lat.max, problemSuffix(t.res.lat.tally))
	}
	starts, err := coldStarts(self, o.startups)
	if err != nil {
		return false, fmt.Errorf("cold start: %w", err)
	}
	var binStarts []float64
	if o.keycardBin != "" {
		if binStarts, err = binaryColdStarts(o.keycardBin, o.startups); err != nil {
			return false, fmt.Errorf("cold start of %s: %w", o.keycardBin, err)
		}
	}

	var b strings.Builder
	report(&b, o, targets, skipped, starts, binStarts, loadBefore, loadAverage())
	fmt.Fprint(stdout, b.String())
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(o.out, []byte(b.String()), 0o644); err != nil {
			return false, err
		}
	}
	ok = true
	for _, t := range targets {
		if t.res.bad.bad() > 0 {
			ok = false
		}
	}
	return ok, nil
}

// check sends every request of t's load once and a request with a bad
// token, and wants 200 for each of the first and 401 for the last (the
// floor answers 200 to everything).
func check(t *target) error {
	for i, h := range t.load.headers {
		one := t.load
		one.headers = []string{h}
		if err := expect(one, http.StatusOK); err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
	}
	if t.name == "hello" {
		return nil
	}
	bogus := t.load
	bogus.headers = []string{"Authorization: Bearer kc_" + strings.Repeat("A", 43)}
	if err := expect(bogus, http.StatusUnauthorized); err != nil {
		return fmt.Errorf("bad token: %w", err)
	}
	return nil
}

// expect sends l's one request and wants status want.
func expect(l load, want int) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+l.addr+l.path, nil)
	if err != nil {
		return err
	}
	if len(l.headers) > 0 {
		name, value, _ := strings.Cut(l.headers[0], ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("status %d (%q), want %d", resp.StatusCode, body, want)
	}
	return nil
}

// badOnly is t without its wanted answers.
func badOnly(t tally) tally {
	t.ok = 0
	return t
}

func problemSuffix(t tally) string {
	if p := t.problem(); p != "" {
		return " FAILED REQUESTS: " + p
	}
	return ""
}

// child is a server process.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   ready
	started time.Time
	readyAt time.Time // when its ready line arrived
}

// start runs self with args and waits for its ready line.
func start(self string, args ...string) (*child, error) {
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReaderSize(stdout, 1<<20).ReadBytes('\n')
	c.readyAt = time.Now()
	if err == nil {
		err = json.Unmarshal(line, &c.ready)
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("server process did not start: %w", err)
	}
	return c, nil
}

// stop closes the child's standard input, on which it exits, and waits.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// binaryColdStarts times n starts of `keycard serve` on an empty SQLite
// file in a new directory (so that it creates its key file too): from
// exec to the first 200 from /healthz.
func binaryColdStarts(bin string, n int) ([]float64, error) {
	var out []float64
	for range n {
		d, err := binaryColdStart(bin)
		if err != nil {
			return nil, err
		}
		out = append(out, float64(d))
	}
	return out, nil
}

func binaryColdStart(bin string) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "keycard-serve-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := ln.Addr().String()
	ln.Close() // another process may take the port: then /healthz never answers and the run fails
	cmd := exec.Command(bin, "serve", "--store", "sqlite:"+filepath.Join(dir, "keycard.db"), "--addr", addr, "--log-level", "warn")
	cmd.Stderr = os.Stderr // its stdout, the URL it serves, is not needed
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	if err := waitHealthy(addr, 10*time.Second); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// coldStart is one timed start of the server on an empty SQLite file.
type coldStart struct {
	inProcess startupTiming
	process   time.Duration // from starting the process to our first 200 from /healthz
}

func coldStarts(self string, n int) ([]coldStart, error) {
	var out []coldStart
	for range n {
		c, err := start(self, "-serve", "startup")
		if err != nil {
			return nil, err
		}
		err = expect(load{addr: c.ready.Addr, path: "/healthz"}, http.StatusOK)
		at := time.Now()
		c.stop()
		if err != nil {
			return nil, err
		}
		if c.ready.Startup == nil {
			return nil, errors.New("no timings from the server process")
		}
		out = append(out, coldStart{inProcess: *c.ready.Startup, process: at.Sub(c.started)})
	}
	return out, nil
}

func report(w io.Writer, o options, targets []*target, skipped []string, starts []coldStart, binStarts []float64, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "## Keycard server over loopback (`make bench-server`)\n\n")
	fmt.Fprintf(w, "%s, %d CPUs (GOMAXPROCS %d), %s/%s; %s.\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "GET /v1/session with one of %d API sessions' Bearer tokens round-robin (hello: the same requests to a bare net/http hello world). ", o.sessions)
	fmt.Fprintf(w, "Throughput: %d keep-alive connections, %d rounds of %v per target with hello run between every two targets, medians; ratio = median over the rounds of a target's req/s over the mean of the hello runs just before and after it. ", o.conns, o.rounds, o.duration)
	fmt.Fprintf(w, "Latency: %d req/s for %v (vegeta, open loop). Every server in its own process, sharing the CPUs with the load generator. ", o.rate, o.rateDuration)
	fmt.Fprintf(w, "Load average (1, 5, 15 min) before the run %s, after %s: the run's own load is about 2; more means something else ran.\n\n", loadBefore, loadAfter)
	fmt.Fprintf(w, "| target | req/s | × hello | p50 @ %d/s | p99 @ %d/s | max @ %d/s | errors |\n", o.rate, o.rate, o.rate)
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range targets {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %s | %s | %s | %d |\n", t.name, stats.Median(t.res.rates), stats.Median(t.res.ratios),
			ms(t.res.lat.p50), ms(t.res.lat.p99), ms(t.res.lat.max), t.res.bad.bad())
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	if len(starts) > 0 {
		var open, nw, first, proc []float64
		for _, s := range starts {
			open = append(open, float64(s.inProcess.Open))
			nw = append(nw, float64(s.inProcess.New))
			first = append(first, float64(s.inProcess.First))
			proc = append(proc, float64(s.process))
		}
		fmt.Fprintf(w, "\nCold start on an empty SQLite file, median (max) of %d:\n\n", len(starts))
		fmt.Fprintf(w, "| step | time |\n|---|---:|\n")
		row := func(name string, xs []float64) {
			fmt.Fprintf(w, "| %s | %s (%s) |\n", name, ms(time.Duration(stats.Median(xs))), ms(time.Duration(slices.Max(xs))))
		}
		row("sqlitestore.Open (create, migrate)", open)
		row("server.New", nw)
		row("in process: Open → first 200 from /healthz", first)
		row("process: exec → first 200 from /healthz", proc)
		if len(binStarts) > 0 {
			row("`keycard serve --store sqlite:…` (new key file): exec → first 200", binStarts)
		}
	}
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
