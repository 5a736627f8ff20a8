package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// tally counts what a load run got back: answers with the wanted status,
// answers with any other status, and requests that got no answer (a
// connection refused or reset, a malformed response). Only the first are
// the figure; a run with any of the others is a failed run.
type tally struct {
	ok       int64
	statuses map[int]int64 // status → count, for statuses other than the wanted one
	errors   int64
	firstErr string // the first transport error, for the report
}

func (t *tally) status(code, want int) {
	if code == want {
		t.ok++
		return
	}
	if t.statuses == nil {
		t.statuses = map[int]int64{}
	}
	t.statuses[code]++
}

func (t *tally) fail(err error) {
	if t.errors == 0 {
		t.firstErr = err.Error()
	}
	t.errors++
}

func (t *tally) add(o tally) {
	t.ok += o.ok
	for code, n := range o.statuses {
		if t.statuses == nil {
			t.statuses = map[int]int64{}
		}
		t.statuses[code] += n
	}
	if t.errors == 0 {
		t.firstErr = o.firstErr
	}
	t.errors += o.errors
}

// bad is the number of requests that did not get the wanted answer.
func (t *tally) bad() int64 {
	n := t.errors
	for _, c := range t.statuses {
		n += c
	}
	return n
}

// problem describes the failed requests, or is "" when there were none.
func (t *tally) problem() string {
	if t.bad() == 0 {
		return ""
	}
	s := fmt.Sprintf("%d transport errors", t.errors)
	codes := make([]int, 0, len(t.statuses))
	for c := range t.statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		s += fmt.Sprintf(", %d× status %d", t.statuses[c], c)
	}
	if t.firstErr != "" {
		s += " (first error: " + t.firstErr + ")"
	}
	return s
}

// load is the request mix of a target: GET path on addr, with one header
// line from headers per request, taken round-robin (the Authorization
// header of one of many sessions, so that no run reads one hot record).
type load struct {
	addr    string // host:port
	path    string
	headers []string // "Name: value" lines; none means no extra header
	want    int      // the status every answer must have
}

// rawRequests renders the load's requests as HTTP/1.1 bytes, one per
// header line.
func (l load) rawRequests() [][]byte {
	lines := l.headers
	if len(lines) == 0 {
		lines = []string{""}
	}
	reqs := make([][]byte, len(lines))
	for i, h := range lines {
		s := "GET " + l.path + " HTTP/1.1\r\nHost: " + l.addr + "\r\nUser-Agent: keycard-serverload\r\n"
		if h != "" {
			s += h + "\r\n"
		}
		reqs[i] = []byte(s + "\r\n")
	}
	return reqs
}

// throughput sends the load over conns keep-alive connections, each
// sending its next request as soon as the answer to the last one has been
// read, for d, and returns the tally and the rate of wanted answers per
// second. A request still open when d ends is waited for (up to
// lingerAfter more), so that no run ends by cutting requests off, but only
// its status counts, not its answer: the rate is of answers within d.
//
// The client writes its requests and parses the answers with
// http.ReadResponse on a plain connection, not an http.Client: it costs the
// CPU that the server shares a fraction of what a Transport costs, so the
// figures say more about the server.
func throughput(l load, conns int, d time.Duration) (tally, float64) {
	reqs := l.rawRequests()
	start := time.Now()
	end := start.Add(d)
	tallies := make([]tally, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { tallies[i] = connLoop(l.addr, reqs, i, conns, l.want, end) })
	}
	wg.Wait()
	var t tally
	for _, c := range tallies {
		t.add(c)
	}
	return t, float64(t.ok) / d.Seconds()
}

// lingerAfter is how long throughput waits for the answers to the
// requests sent before its end; one that takes longer is a transport error.
const lingerAfter = 5 * time.Second

// connLoop is one connection of throughput: requests first, first+stride,
// … of reqs until end, redialling after an error or a Connection: close.
func connLoop(addr string, reqs [][]byte, first, stride, want int, end time.Time) tally {
	var t tally
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	drop := func() {
		if c != nil {
			c.Close()
			c = nil
		}
	}
	for k := first; ; k += stride {
		if !time.Now().Before(end) {
			return t
		}
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", addr, time.Until(end)); err != nil {
				if !time.Now().Before(end) {
					return t
				}
				t.fail(err)
				time.Sleep(time.Millisecond) // a refused dial returns at once: do not spin
				continue
			}
			c.SetDeadline(end.Add(lingerAfter))
			br = bufio.NewReader(c)
		}
		if _, err := c.Write(reqs[k%len(reqs)]); err != nil {
			if !time.Now().Before(end) {
				return t
			}
			t.fail(err)
			drop()
			continue
		}
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			t.fail(err)
			drop()
			continue
		}
		if late := !time.Now().Before(end); late && resp.StatusCode == want {
			return t
		}
		t.status(resp.StatusCode, want)
		if resp.Close {
			drop()
		}
	}
}

// latencies is what a fixed-rate run measured.
type latencies struct {
	tally
	sent          int
	p50, p99, max time.Duration
}

// fixedRate sends the load at rate requests per second for d with
// vegeta's attacker (open loop: a slow answer does not delay the next
// request, vegeta starts more workers instead) and returns the latency
// percentiles of every request, failed or not.
func fixedRate(l load, rate int, d time.Duration) latencies {
	var next atomic.Uint64
	url := "http://" + l.addr + l.path
	targeter := func(tgt *vegeta.Target) error {
		tgt.Method = http.MethodGet
		tgt.URL = url
		tgt.Header = http.Header{"User-Agent": {"keycard-serverload"}}
		if len(l.headers) > 0 {
			name, value, ok := strings.Cut(l.headers[(next.Add(1)-1)%uint64(len(l.headers))], ": ")
			if !ok {
				return fmt.Errorf("serverload: malformed header line")
			}
			tgt.Header.Set(name, value)
		}
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.MaxBody(1<<16))
	var res latencies
	var all []time.Duration
	for r := range atk.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "") {
		all = append(all, r.Latency)
		if r.Code == 0 {
			res.fail(errors.New(r.Error))
		} else {
			res.status(int(r.Code), l.want)
		}
	}
	res.sent = len(all)
	res.p50, res.p99, res.max = percentile(all, 0.50), percentile(all, 0.99), percentile(all, 1)
	return res
}

// percentile returns the q-quantile (0 < q ≤ 1) of ds by the nearest-rank
// method, or 0 for no values. It sorts ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[max(0, min(rank, len(ds)-1))]
}
