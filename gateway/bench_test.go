package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/sqlitestore"
)

// BenchmarkGateway measures gateway mode through nginx in one run (`make
// bench-gateway`, results in bench/results/gateway.txt):
//
//   - keycard_req/s: wrk through nginx → Keycard /v1/auth (SQLite) → app;
//   - trivial_req/s: the same nginx configuration with an auth service
//     that always says 200;
//   - ratio: keycard_req/s / trivial_req/s (issue 15's target: ≥ 0.8);
//   - auth_p50_ms, auth_p99_ms: /v1/auth alone at a fixed 2,000 req/s
//     (target p99 ≤ 2 ms).
//
// wrk, nginx, Keycard and the app share the machine's CPUs.
func BenchmarkGateway(b *testing.B) {
	wrk := need(b, "wrk", "/usr/bin/wrk")
	store, err := sqlitestore.Open(filepath.Join(b.TempDir(), "keycard.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	kc, kcSrv := newKeycard(b, keycardOptions{store: store})
	app := newEchoApp(b)
	trivial := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Keycard-Subject", testUser)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(trivial.Close)
	withKeycard := nginx.start(b, hostport(kcSrv.URL), hostport(app.URL))
	withTrivial := nginx.start(b, hostport(trivial.URL), hostport(app.URL))

	cred, err := kc.Manager().Issue(context.Background(), keycard.IssueOptions{Subject: testUser, Kind: keycard.KindBrowser})
	if err != nil {
		b.Fatal(err)
	}
	cookie := kc.Manager().CookieName() + "=" + string(cred.Token)

	for range b.N {
		// Alternate the two, twice, so that both see the same machine.
		var kcRates, trivialRates []float64
		for range 2 {
			kcRates = append(kcRates, runWrk(b, wrk, withKeycard+"/reports", cookie))
			trivialRates = append(trivialRates, runWrk(b, wrk, withTrivial+"/reports", cookie))
		}
		k, tr := mean(kcRates), mean(trivialRates)
		b.ReportMetric(k, "keycard_req/s")
		b.ReportMetric(tr, "trivial_req/s")
		b.ReportMetric(k/tr, "ratio")

		p50, p99, errs := fixedRate(b, kcSrv.URL+"/v1/auth", cookie, 2000, 10*time.Second)
		b.ReportMetric(p50, "auth_p50_ms")
		b.ReportMetric(p99, "auth_p99_ms")
		if errs > 0 {
			b.Errorf("/v1/auth at 2,000 req/s: %d requests failed", errs)
		}
	}
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// runWrk runs wrk for 8 seconds (2 threads, 32 connections) against url
// with the session cookie and returns its requests per second; any non-2xx
// answer fails the benchmark.
func runWrk(b *testing.B, wrk, url, cookie string) float64 {
	b.Helper()
	out, err := exec.Command(wrk, "-t2", "-c32", "-d8s", "-H", "Cookie: "+cookie, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if regexp.MustCompile(`Non-2xx or 3xx responses|Socket errors`).Match(out) {
		b.Fatalf("wrk %s: errors\n%s", url, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk: no rate in\n%s", out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	return rate
}

// fixedRate sends GET url at rate requests per second for d (open loop: a
// slow answer does not delay the next request) and returns the median and
// 99th percentile latency in milliseconds and the number of failures.
func fixedRate(b *testing.B, url, cookie string, rate int, d time.Duration) (p50, p99 float64, errs int) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 5 * time.Second}
	send := func() (time.Duration, bool) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-Original-URI", "/reports?q=1")
		req.Header.Set("X-Original-Method", "GET")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, false
		}
		res.Body.Close()
		return time.Since(start), res.StatusCode == http.StatusOK
	}
	for range 200 { // warm up the connections
		send()
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	// Every millisecond, start the requests that are due by now: a timer
	// per request cannot keep up with 2,000 a second.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for now := range tick.C {
		elapsed := now.Sub(start)
		if elapsed > d {
			break
		}
		for due := int(elapsed.Seconds() * float64(rate)); sent < due; sent++ {
			wg.Go(func() {
				lat, ok := send()
				mu.Lock()
				defer mu.Unlock()
				if !ok {
					errs++
					return
				}
				latencies = append(latencies, lat)
			})
		}
	}
	wg.Wait()
	if len(latencies) == 0 {
		b.Fatal("no request succeeded")
	}
	slices.Sort(latencies)
	ms := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))]) / float64(time.Millisecond)
	}
	b.Logf("/v1/auth: %d requests in %v (%.0f req/s)", len(latencies), d, float64(len(latencies))/d.Seconds())
	return ms(0.50), ms(0.99), errs
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
