package memstore

import (
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storetest"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
	}{
		{"defaults", nil},
		{"one shard", &Options{Shards: 1}},
		{"256 shards", &Options{Shards: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) keycard.Store {
				s := New(tt.opts)
				t.Cleanup(s.Close)
				return s
			})
		})
	}
}
