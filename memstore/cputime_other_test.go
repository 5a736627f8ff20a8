//go:build !linux

package memstore

import "time"

// threadCPU is not measured outside Linux.
func threadCPU() time.Duration { return 0 }
