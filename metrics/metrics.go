package metrics

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/keycard-go/keycard"
	"github.com/prometheus/client_golang/prometheus"
)

// defaultBuckets cover an in-process store as well as a database across a
// network.
var defaultBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Options configures a Collector. A nil *Options means all defaults, and the
// zero value of every field is the default.
type Options struct {
	// Buckets are the upper bounds, in seconds, of the buckets of
	// keycard_store_duration_seconds, strictly increasing and finite.
	// Default: 100 µs, 250 µs, 500 µs, 1 ms, 2.5 ms, 5 ms, 10 ms, 25 ms,
	// 50 ms, 100 ms, 250 ms, 500 ms, 1 s and 2.5 s. Each bucket is one series
	// per operation and result, so keep the list short.
	Buckets []float64
}

// Collector turns Keycard's events, CSRF rejections and store calls into
// Prometheus metrics. It implements prometheus.Collector: register it on any
// prometheus.Registerer, once. It is safe for concurrent use.
//
// Every label value comes from a fixed set (see the package documentation),
// never from a session ID, a subject, a token or text a client supplied, so
// the number of series is bounded whatever the traffic.
//
// The zero value is not usable: call New.
type Collector struct {
	created       prometheus.Counter
	authenticated prometheus.Counter
	renewed       prometheus.Counter
	destroyed     prometheus.Counter
	expired       prometheus.Counter
	revoked       prometheus.Counter
	replays       prometheus.Counter
	rateLimited   prometheus.Counter
	invalid       *prometheus.CounterVec
	anomalies     *prometheus.CounterVec
	csrf          *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec

	all []prometheus.Collector
}

// New returns a Collector with opts (nil: defaults). It returns an error when
// Options.Buckets is not strictly increasing or holds a value that is not
// finite.
func New(opts *Options) (*Collector, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	buckets := defaultBuckets
	if len(o.Buckets) > 0 {
		for i, b := range o.Buckets {
			if math.IsNaN(b) || math.IsInf(b, 0) {
				return nil, fmt.Errorf("metrics: bucket %d is not finite", i)
			}
			if i > 0 && b <= o.Buckets[i-1] {
				return nil, errors.New("metrics: buckets must be strictly increasing")
			}
		}
		buckets = o.Buckets
	}
	buckets = append([]float64(nil), buckets...) // a copy: the caller may reuse its slice

	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	c := &Collector{
		created:       counter("sessions_created_total", "Sessions stored for the first time."),
		authenticated: counter("sessions_authenticated_total", "Logins: a subject bound to a session and its token replaced."),
		renewed:       counter("sessions_renewed_total", "Session tokens replaced by renewal, Renew or a refresh."),
		destroyed:     counter("sessions_destroyed_total", "Sessions ended by logout."),
		expired:       counter("sessions_expired_total", "Tokens presented after their session's idle or absolute deadline."),
		revoked:       counter("sessions_revoked_total", "Sessions ended by Revoke, RevokeAll, a session limit, an anomaly or a detected replay."),
		replays:       counter("replays_total", "Rotated session tokens or spent refresh tokens presented again; each ends its session."),
		rateLimited:   counter("rate_limited_total", "Requests answered 429 because their network presented too many invalid tokens."),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "invalid_tokens_total",
			Help: "Invalid session or refresh tokens presented, by reason.",
		}, []string{"reason"}),
		anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "anomalies_total",
			Help: "Changed client signals of a session (one per signal of an anomaly), by signal and the action taken.",
		}, []string{"signal", "action"}),
		csrf: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "csrf_rejections_total",
			Help: "State-changing requests rejected by the CSRF protection, by reason.",
		}, []string{"reason"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "store_duration_seconds",
			Help:    "Latency of session store calls, by operation and result.",
			Buckets: buckets,
		}, []string{"op", "result"}),
	}
	// Known label values start at zero, so that rate() and alerts see the
	// series before the first increment.
	for _, r := range invalidReasons {
		c.invalid.WithLabelValues(r)
	}
	for _, s := range signals {
		for _, a := range []keycard.GuardAction{keycard.GuardLog, keycard.GuardReauth, keycard.GuardRevoke} {
			c.anomalies.WithLabelValues(s, a.String())
		}
	}
	for _, r := range csrfReasons {
		c.csrf.WithLabelValues(r)
	}
	c.all = []prometheus.Collector{
		c.created, c.authenticated, c.renewed, c.destroyed, c.expired, c.revoked,
		c.replays, c.rateLimited, c.invalid, c.anomalies, c.csrf, c.storeDuration,
	}
	return c, nil
}

const namespace = "keycard"

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.all {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.all {
		m.Collect(ch)
	}
}

// invalidReasonLabels maps each Reason of an EventInvalidToken to its label
// value: the reason with "_" for "-". The set comes from
// keycard.InvalidTokenReasons, so a new reason gets its label with no edit
// here; a reason outside it counts as "other".
var invalidReasonLabels = func() map[keycard.Reason]string {
	m := map[keycard.Reason]string{}
	for _, r := range keycard.InvalidTokenReasons() {
		m[r] = strings.ReplaceAll(string(r), "-", "_")
	}
	return m
}()

// invalidReasons are the label values of keycard_invalid_tokens_total.
var invalidReasons = func() []string {
	r := []string{other}
	for _, v := range invalidReasonLabels {
		r = append(r, v)
	}
	return r
}()

const other = "other"

// signals are the anomaly signals with a label of their own: the names
// package guard lists in Event.Reason, used as label values unchanged.
var signals = [...]string{"browser", "browser_version", "accept_language", "network"}

// OnEvent counts e. Plug it into keycard.Options.OnEvent, alone or with the
// application's own hook through Chain. It is quick, does not allocate, and is
// safe for concurrent use.
//
// An EventAnomaly counts once per changed signal listed in its Reason
// ("browser,network" counts browser and network), with the action's name;
// signals outside the known set count as "other", and so does an anomaly
// without any. An EventInvalidToken counts under its reason, or "other" for a
// reason outside the known set.
func (c *Collector) OnEvent(e keycard.Event) {
	switch e.Type {
	case keycard.EventCreated:
		c.created.Inc()
	case keycard.EventAuthenticated:
		c.authenticated.Inc()
	case keycard.EventRenewed:
		c.renewed.Inc()
	case keycard.EventDestroyed:
		c.destroyed.Inc()
	case keycard.EventExpired:
		c.expired.Inc()
	case keycard.EventRevoked:
		c.revoked.Inc()
	case keycard.EventReplay:
		c.replays.Inc()
	case keycard.EventRateLimited:
		c.rateLimited.Inc()
	case keycard.EventInvalidToken:
		label, ok := invalidReasonLabels[e.Reason]
		if !ok {
			label = other
		}
		c.invalid.WithLabelValues(label).Inc()
	case keycard.EventAnomaly:
		c.anomaly(string(e.Reason), e.Action.String()) // "none", "log", "reauth" or "revoke", whatever the value
	}
}

// anomaly counts each distinct signal of reason once.
func (c *Collector) anomaly(reason, action string) {
	var seen uint8 // bit i: signals[i]; otherBit: anything else
	const otherBit = 1 << len(signals)
	for rest := reason; rest != ""; {
		var s string
		s, rest, _ = strings.Cut(rest, ",")
		s = strings.TrimSpace(s)
		bit := uint8(otherBit)
		for i, name := range signals {
			if s == name {
				bit = 1 << i
				break
			}
		}
		seen |= bit
	}
	if seen == 0 {
		seen = otherBit // an anomaly that names no signal still counts once
	}
	for i, name := range signals {
		if seen&(1<<i) != 0 {
			c.anomalies.WithLabelValues(name, action).Inc()
		}
	}
	if seen&otherBit != 0 {
		c.anomalies.WithLabelValues(other, action).Inc()
	}
}

// Chain returns an event hook for keycard.Options.OnEvent that calls each
// non-nil hook in order, such as the Collector's and the application's own:
//
//	opts.OnEvent = metrics.Chain(collector.OnEvent, audit)
//
// Every hook runs synchronously in the request that caused the event, so each
// must be quick and safe for concurrent use. Chain returns nil when every hook
// is nil.
func Chain(hooks ...func(keycard.Event)) func(keycard.Event) {
	var hs []func(keycard.Event)
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	switch len(hs) {
	case 0:
		return nil
	case 1:
		return hs[0]
	}
	return func(e keycard.Event) {
		for _, h := range hs {
			h(e)
		}
	}
}
