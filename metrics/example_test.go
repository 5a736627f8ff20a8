package metrics_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Example wires a Collector into a Manager, logs a user in and out, and
// prints the session counters a Prometheus server would scrape.
func Example() {
	collector, err := metrics.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector)

	store := memstore.New(nil)
	defer store.Close()
	var audit []string // the application's own hook
	sessions, err := keycard.New(collector.InstrumentStore(store), &keycard.Options{
		OnEvent: metrics.Chain(collector.OnEvent, func(e keycard.Event) { audit = append(audit, e.Type.String()) }),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		keycard.Login(r.Context(), "alice")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		keycard.Logout(r.Context())
	})
	h := sessions.Handler(mux)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	logout := httptest.NewRequest("POST", "/logout", nil)
	for _, c := range w.Result().Cookies() {
		logout.AddCookie(c)
	}
	h.ServeHTTP(httptest.NewRecorder(), logout)

	families, err := registry.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "keycard_sessions_") {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		}
	}
	fmt.Println("audit:", audit)
	// Output:
	// keycard_sessions_authenticated_total 1
	// keycard_sessions_created_total 1
	// keycard_sessions_destroyed_total 1
	// keycard_sessions_expired_total 0
	// keycard_sessions_renewed_total 0
	// keycard_sessions_revoked_total 0
	// audit: [created authenticated destroyed]
}
