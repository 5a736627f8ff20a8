package main

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// certReloader serves the certificate of a certificate and key file pair
// and loads it again on demand (SIGHUP), keeping the previous one when
// the new pair does not load, so that a bad deploy does not take the
// server down.
type certReloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// load reads the pair; on failure the current certificate stays.
func (c *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&cert)
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}
