package server

import (
	"net/http"
	"strings"

	"github.com/keycard-go/keycard/api"
)

// routes builds the server's handler: the API of DESIGN §7 on one mux, a
// JSON 404 or 405 for everything else, cross-origin protection for every
// unsafe request, and the headers every response carries.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	session := func(h handlerFunc) http.Handler { return s.m.Handler(s.handle(h)) }
	admin := func(h handlerFunc) http.Handler { return s.handle(s.requireAdmin(h)) }

	mux.Handle("POST /v1/login", s.handle(s.login))
	mux.Handle("GET /v1/session", session(s.whoami))
	mux.Handle("DELETE /v1/session", session(s.logout))
	mux.Handle("POST /v1/session/refresh", s.handle(s.refresh))
	mux.Handle("GET /v1/session/devices", session(s.devices))
	mux.Handle("DELETE /v1/session/devices", session(s.revokeOtherDevices))
	mux.Handle("DELETE /v1/session/devices/{id}", session(s.revokeDevice))
	mux.Handle("POST /v1/session/jwt", session(s.mintJWT))

	mux.Handle("POST /v1/admin/sessions", admin(s.adminCreate))
	mux.Handle("POST /v1/admin/introspect", admin(s.adminIntrospect))
	mux.Handle("GET /v1/admin/subjects/{subject}/sessions", admin(s.adminList))
	mux.Handle("DELETE /v1/admin/subjects/{subject}/sessions", admin(s.adminRevokeSubject))
	mux.Handle("DELETE /v1/admin/sessions/{id}", admin(s.adminRevoke))

	mux.Handle("/v1/auth", session(s.auth))

	mux.Handle("GET /.well-known/jwks.json", s.issuer.JWKSHandler())
	mux.Handle("GET /healthz", s.handle(s.healthz))
	mux.Handle("GET /readyz", s.handle(s.readyz))
	mux.Handle("GET /metrics", s.metrics)
	mux.Handle("GET /openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(api.Spec)
	}))

	cop := http.NewCrossOriginProtection()
	// /v1/auth is asked by proxies about other requests: it applies the
	// cross-origin check to the original request itself (see auth).
	cop.AddInsecureBypassPattern("/v1/auth")
	cop.SetDenyHandler(s.handle(func(http.ResponseWriter, *http.Request) error { return errCrossOrigin }))
	return s.headers(cop.Handler(s.dispatch(mux)))
}

// dispatch serves r with mux, answering in the API's error model where mux
// has no route: 405 with Allow when the path exists under other methods,
// else 404.
func (s *Server) dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values
			return
		}
		var allow []string
		for _, m := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			s.writeErr(w, r, errNotFound)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeErr(w, r, errMethodNotAllowed)
	})
}

// headers sets what every response carries: no caching unless a handler
// says otherwise (responses describe sessions), no MIME sniffing, and HSTS
// when the server is reached over TLS.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if s.opts.TLS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.ready(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
