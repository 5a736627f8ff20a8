package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var discardLogger = slog.New(slog.DiscardHandler)

// scrape returns what a Prometheus server scraping g's /metrics would read.
func scrape(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Header.Set("Accept", "text/plain")
	promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}).ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// gather registers c on a fresh registry and gathers it.
func gather(t testing.TB, c prometheus.Collector) map[string]family {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]family{}
	for _, mf := range mfs {
		f := family{help: mf.GetHelp()}
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.labels[lp.GetName()] = lp.GetValue()
			}
			if ctr := m.GetCounter(); ctr != nil {
				s.value = ctr.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				s.count = h.GetSampleCount()
			}
			f.samples = append(f.samples, s)
		}
		out[mf.GetName()] = f
	}
	return out
}

type family struct {
	help    string
	samples []sample
}

type sample struct {
	labels map[string]string
	value  float64 // counters
	count  uint64  // histograms: observations
}

func (s sample) matches(labels map[string]string) bool {
	if len(s.labels) != len(labels) {
		return false
	}
	for k, v := range labels {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

// help returns the help text of metric name.
func help(t testing.TB, c prometheus.Collector, name string) string {
	t.Helper()
	f, ok := gather(t, c)[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return f.help
}

// counterValue returns the value of the counter name with exactly labels,
// 0 when the series does not exist.
func counterValue(t testing.TB, c prometheus.Collector, name string, labels map[string]string) float64 {
	t.Helper()
	for _, s := range gather(t, c)[name].samples {
		if s.matches(labels) {
			return s.value
		}
	}
	return 0
}

// sumCounter returns the sum of every series of the counter name.
func sumCounter(t testing.TB, c prometheus.Collector, name string) float64 {
	t.Helper()
	var sum float64
	for _, s := range gather(t, c)[name].samples {
		sum += s.value
	}
	return sum
}

// observations returns the observation count of the histogram name with
// exactly labels, 0 when the series does not exist.
func observations(t testing.TB, c prometheus.Collector, name string, labels map[string]string) uint64 {
	t.Helper()
	for _, s := range gather(t, c)[name].samples {
		if s.matches(labels) {
			return s.count
		}
	}
	return 0
}

var errBroken = errors.New("connection refused")

// fakeStore answers every call with err (nil: an empty, successful answer).
type fakeStore struct{ err error }

func (f *fakeStore) Get(context.Context, storage.Hash) (*storage.Record, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &storage.Record{}, nil
}

func (f *fakeStore) GetByID(context.Context, string) (*storage.Record, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &storage.Record{}, nil
}
func (f *fakeStore) Create(context.Context, *storage.Record) error { return f.err }
func (f *fakeStore) Update(context.Context, *storage.Record) error { return f.err }
func (f *fakeStore) Rotate(context.Context, *storage.Record, *storage.Record, time.Time) error {
	return f.err
}
func (f *fakeStore) Delete(context.Context, storage.Hash) error { return f.err }
func (f *fakeStore) DeleteByID(context.Context, string) error   { return f.err }
func (f *fakeStore) List(context.Context, string) ([]*storage.Record, error) {
	return nil, f.err
}
func (f *fakeStore) DeleteSubject(context.Context, string, string) (int, error) { return 3, f.err }
func (f *fakeStore) DeleteExpired(context.Context, time.Time, int) (int, error) { return 4, f.err }
