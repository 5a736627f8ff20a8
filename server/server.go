package server

import (
	"errors"
	"net/http"

	"github.com/keycard-go/keycard/storage"
)

// Server is the HTTP API of `keycard serve`. It is safe for concurrent use.
type Server struct {
	handler http.Handler
}

// New returns a Server over store.
func New(store storage.Store, opts *Options) (*Server, error) {
	if store == nil || opts == nil {
		return nil, errors.New("server: a store and options are required")
	}
	return &Server{handler: http.NotFoundHandler()}, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server's background work.
func (s *Server) Close() error { return nil }
