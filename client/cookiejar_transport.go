// CookieJar.Transport: the jar as an http.RoundTripper, so that cookies
// are parsed and sent exactly as RFC 6265 says, past net/http's own
// cookie parser and encoder.

package client

import "net/http"

// Transport returns an http.RoundTripper that sends each request through
// next (http.DefaultTransport when nil) with the jar's Cookie header for
// its URL (CookieHeader, appended to any Cookie header the request has),
// and stores every Set-Cookie line of the response by RFC 6265 §5.2 and
// §5.3 (SetCookieLines). It sees every hop of a redirect, since
// http.Client calls it once a hop. Use it instead of http.Client.Jar, not
// with it, or the cookies are sent twice. It keeps next's
// CloseIdleConnections. It is safe for concurrent use.
func (j *CookieJar) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &jarTransport{jar: j, next: next}
}

type jarTransport struct {
	jar  *CookieJar
	next http.RoundTripper
}

func (t *jarTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := t.jar.CookieHeader(req.URL); h != "" {
		// A RoundTripper must not change the caller's request.
		req = req.Clone(req.Context())
		if old := req.Header.Get("Cookie"); old != "" {
			h = old + "; " + h
		}
		req.Header.Set("Cookie", h)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.jar.SetCookieLines(req.URL, resp.Header.Values("Set-Cookie"))
	return resp, nil
}

// CloseIdleConnections closes next's idle connections when it can, so
// http.Client.CloseIdleConnections reaches through the wrapper.
func (t *jarTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
