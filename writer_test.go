package keycard_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storetest"
)

// TestStreamingSetsCookieFirst serves a handler that writes and flushes
// before returning, over a real connection: the cookie must arrive with the
// headers, and Flush, ReadFrom and Hijack must keep working through the wrapper.
func TestStreamingSetsCookieFirst(t *testing.T) {
	e := newEnv(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		keycard.FromContext(r.Context()).Put("n", 1)
		io.WriteString(w, "first ")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the wrapper: %v", err)
		}
		// Changes after the commit are refused, not silently lost.
		if err := keycard.FromContext(r.Context()).Put("n", 2); err == nil {
			t.Error("Put after the first body byte succeeded")
		}
		io.Copy(w, strings.NewReader("second")) // ReadFrom
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		keycard.FromContext(r.Context()).Put("h", true)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the wrapper: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		buf.Flush()
	})
	srv := httptest.NewServer(e.m.Handler(mux))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, set := sessionCookie(res, e.m.CookieName()); !set {
		t.Fatal("streamed response carries no session cookie")
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "first second" {
		t.Fatalf("body %q", b)
	}

	res, err = http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hi" {
		t.Fatalf("hijacked body %q", b)
	}
	if n := e.events.count(keycard.EventCreated); n != 2 {
		t.Fatalf("created events = %d, want 2 (the hijacking handler's session is stored too)", n)
	}
}

func TestInformationalStatusPassesThrough(t *testing.T) {
	e := newEnv(t, nil)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		// Still allowed after a 1xx: the session is not committed yet.
		if err := keycard.FromContext(r.Context()).Put("a", 1); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201", res.StatusCode)
	}
	if _, set := sessionCookie(res, e.m.CookieName()); !set {
		t.Fatal("no cookie on the final response after an informational one")
	}
}

// TestNoTokenInLogsOrEvents drives the lifecycle with a debug logger and
// checks that no token appears in any log line or event.
func TestNoTokenInLogsOrEvents(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, &keycard.Options{Logger: logger})
	var tokens []string
	grab := func(res *http.Response) {
		if v, ok := sessionCookie(res, e.m.CookieName()); ok && v != "" {
			tokens = append(tokens, v)
		}
	}
	res := e.do(req{method: "POST", path: "/login?user=alice"})
	grab(res)
	cookie := e.m.CookieName() + "=" + tokens[0]
	e.clock.Advance(16 * time.Minute)
	res = e.do(req{method: "GET", path: "/whoami", cookie: cookie})
	grab(res)
	e.clock.Advance(60 * time.Second)
	e.do(req{method: "GET", path: "/whoami", cookie: cookie}) // replay after grace
	forged, _ := storetest.NewToken()
	tokens = append(tokens, forged)
	e.do(req{method: "GET", path: "/whoami", cookie: e.m.CookieName() + "=" + forged})
	creds, _ := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "bob"})
	apiTok := creds.Token
	tokens = append(tokens, creds.RefreshToken.Reveal())
	tokens = append(tokens, apiTok.Reveal())
	e.do(req{method: "GET", path: "/whoami", bearer: apiTok.Reveal()})
	// A handler that prints its Session, the way an application logs
	// what it is working on, and a session with a pending new token.
	printer := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		s.GetString("x") // loaded
		logger.Info("handling", "session", s, slog.Any("s", s))
		fmt.Fprintf(&logs, "%v %+v %#v\n", s, s, s)
		keycard.Renew(r.Context())
		logger.Info("renewed", "session", s)
		fmt.Fprintf(&logs, "%v %+v %#v\n", s, s, s)
	}))
	res = e.do(req{method: "POST", path: "/login?user=alice"})
	grab(res)
	pr := httptest.NewRequest("GET", "/", nil)
	pr.Header.Set("Cookie", e.m.CookieName()+"="+tokens[len(tokens)-1])
	pw := httptest.NewRecorder()
	printer.ServeHTTP(pw, pr)
	if v, ok := sessionCookie(pw.Result(), e.m.CookieName()); ok && v != "" {
		tokens = append(tokens, v)
	} else {
		t.Fatal("the printing handler's renewal set no cookie")
	}
	if !strings.Contains(logs.String(), "REDACTED") {
		t.Fatal("printing a Session did not go through its redacting String and LogValue")
	}
	e.do(req{method: "POST", path: "/logout", cookie: cookie})

	if logs.Len() == 0 {
		t.Fatal("no log output at all; the test would prove nothing")
	}
	// Everything an event hook can reach, pointers and headers followed.
	events := deepStrings(e.events.events)
	if !strings.Contains(events, "alice") {
		t.Fatal("the events' walk found no subject; it would prove nothing")
	}
	for _, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token appears in the logs")
		}
		if strings.Contains(events, tok) {
			t.Fatalf("a token appears in an event")
		}
	}
	if strings.Contains(logs.String(), "alice") {
		t.Fatal("the subject appears in the logs")
	}
	if got := fmt.Sprint(apiTok); got != "REDACTED" {
		t.Fatalf("fmt.Sprint(token) = %q, want REDACTED", got)
	}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "token", apiTok)
	if strings.Contains(b.String(), apiTok.Reveal()) {
		t.Fatal("slog printed a token")
	}
}

func TestHandlerErrorIsJSON(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := storetest.NewToken()
	res := e.do(req{method: "GET", path: "/x?session=" + tok})
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	b := body(res)
	if !strings.Contains(b, `"code":"token_in_url"`) || strings.Contains(b, tok) {
		t.Fatalf("body %q: want the code and never the token", b)
	}
}

// TestLogSubjectHash: with a salt, log lines carry a stable keyed hash of the
// subject, never the subject; without one, nothing about the subject.
func TestLogSubjectHash(t *testing.T) {
	for _, salt := range [][]byte{nil, []byte("0123456789abcdef")} {
		var logs bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := newEnv(t, &keycard.Options{Logger: logger, LogSubjectSalt: salt})
		cookie := e.login("alice")
		e.do(req{method: "POST", path: "/logout", cookie: cookie})
		e.login("alice")
		out := logs.String()
		if strings.Contains(out, "alice") {
			t.Fatal("the subject appears in the logs")
		}
		hashes := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if _, h, ok := strings.Cut(line, `"subject_hash":"`); ok {
				hashes[h[:16]] = true
			}
		}
		switch {
		case salt == nil && len(hashes) != 0:
			t.Fatal("subject_hash logged without a salt")
		case salt != nil && len(hashes) != 1:
			t.Fatalf("subject hashes %v: want one stable hash for alice's events", hashes)
		}
	}
}

// TestHijackNeverRotates: a WebSocket-style upgrade that arrives after the
// renewal timeout must not replace the token, since a hijacked connection
// carries no Set-Cookie: the browser would keep only the old token, whose
// next use after the grace window would end the session as a replay.
func TestHijackNeverRotates(t *testing.T) {
	e := newEnv(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		s := keycard.FromContext(r.Context())
		if !s.IsAuthenticated() {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		buf.Flush()
		line, _ := buf.ReadString('\n')
		buf.WriteString("echo " + line)
		buf.Flush()
	})
	mux.HandleFunc("POST /ws-login", func(w http.ResponseWriter, r *http.Request) {
		keycard.Login(r.Context(), "bob")
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			t.Error("Hijack after Login succeeded: the new token could never reach the client")
			return
		}
		http.Error(w, "no upgrade after a login", http.StatusBadRequest)
	})
	mux.Handle("/", app())
	srv := httptest.NewServer(e.m.Handler(mux))
	defer srv.Close()

	cookie := e.login("alice")
	e.clock.Advance(16 * time.Minute) // past the renewal timeout

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nCookie: %s\r\n\r\n", cookie)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: status %d, want 101", res.StatusCode)
	}
	fmt.Fprint(conn, "ping\n")
	if line, _ := br.ReadString('\n'); line != "echo ping\n" {
		t.Fatalf("over the upgraded connection: %q", line)
	}
	conn.Close()

	// The browser still holds only its old token: it must keep working after
	// the grace window, and the next ordinary request renews it.
	e.clock.Advance(time.Minute)
	hres := e.do(req{method: "GET", path: "/whoami", cookie: cookie})
	if hres.StatusCode != http.StatusOK {
		t.Fatalf("the token after the upgrade: status %d, want 200 (the upgrade must not have rotated it)", hres.StatusCode)
	}
	if _, set := sessionCookie(hres, e.m.CookieName()); !set {
		t.Fatal("the request after the upgrade did not renew the token")
	}
	if n := e.events.count(keycard.EventReplay) + e.events.count(keycard.EventRevoked); n != 0 {
		t.Fatalf("%d replay or revocation events: the upgrade was taken for a theft", n)
	}

	// An explicit privilege change cannot be delivered over a hijacked
	// connection, so Hijack refuses rather than strand the client.
	lr, _ := http.NewRequest("POST", srv.URL+"/ws-login", nil)
	lr.Header.Set("Cookie", cookie)
	lres, err := http.DefaultClient.Do(lr)
	if err != nil {
		t.Fatalf("POST /ws-login: %v (the connection was hijacked after a login)", err)
	}
	lres.Body.Close()
	if lres.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /ws-login: status %d, want the handler's 400 after the refused Hijack", lres.StatusCode)
	}
}
