package jwt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/keycard-go/keycard/internal/testclock"
)

const (
	testIss = "https://keycard.example"
	testAud = "https://api.example"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// edKey returns a deterministic Ed25519 signing key.
func edKey(t testing.TB, b byte) *SigningKey {
	t.Helper()
	k, err := NewSigningKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	clock *testclock.Clock
	key   *SigningKey
	iss   *Issuer
	ver   *Verifier
}

func newFixture(t testing.TB, key *SigningKey, vopts *VerifierOptions) *fixture {
	t.Helper()
	c := testclock.New(testNow)
	iss, err := NewIssuer(testIss, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss.now = c.Now
	var o VerifierOptions
	if vopts != nil {
		o = *vopts
	}
	ver, err := NewVerifier(testIss, testAud, iss, &o)
	if err != nil {
		t.Fatal(err)
	}
	ver.now = c.Now
	return &fixture{clock: c, key: key, iss: iss, ver: ver}
}

var testSession = Session{Subject: "alice", ID: "sess-1", AuthTime: testNow.Add(-time.Hour)}

func (f *fixture) mint(t testing.TB) string {
	t.Helper()
	tok, _, err := f.iss.Mint(testSession, testAud)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs arbitrary header and payload JSON with key, so that a test
// token fails for the reason its row names and not for its signature.
func signRaw(t testing.TB, key *SigningKey, header, payload string) string {
	t.Helper()
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	sig, err := gojwt.GetSigningMethod(key.alg).Sign(in, key.priv)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

func baseHeader(key *SigningKey) map[string]any {
	return map[string]any{"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
}

func baseClaims() map[string]any {
	return map[string]any{
		"iss": testIss, "sub": "alice", "aud": testAud,
		"exp": testNow.Add(time.Minute).Unix(), "iat": testNow.Unix(),
		"jti": "j1", "sid": "sess-1", "client_id": testIss,
		"auth_time": testNow.Add(-time.Hour).Unix(),
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// edit returns m after applying f to a copy.
func edit(m map[string]any, f func(m map[string]any)) string {
	c := map[string]any{}
	for k, v := range m {
		c[k] = v
	}
	f(c)
	return mustJSON(c)
}

func TestMintVerify(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256} {
		t.Run(alg, func(t *testing.T) {
			key, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, key, nil)
			tok, exp, err := f.iss.Mint(testSession, testAud)
			if err != nil {
				t.Fatal(err)
			}
			if want := testNow.Add(DefaultLifetime); !exp.Equal(want) {
				t.Errorf("expiry = %v, want %v", exp, want)
			}
			c, err := f.ver.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := &Claims{
				Issuer: testIss, Subject: "alice", Audience: []string{testAud},
				ExpiresAt: exp, IssuedAt: testNow, AuthTime: testSession.AuthTime,
				ID: c.ID, SessionID: "sess-1", ClientID: testIss,
			}
			if got := mustJSON(c); got != mustJSON(want) {
				t.Errorf("claims = %s, want %s", got, mustJSON(want))
			}
			if len(c.ID) != 22 {
				t.Errorf("jti %q, want 22 base64url characters", c.ID)
			}
			// The header and the exact claim set.
			parts := strings.Split(tok, ".")
			hb, _ := b64.DecodeString(parts[0])
			if got, want := string(hb), mustJSON(map[string]string{"alg": alg, "kid": key.KeyID(), "typ": "at+jwt"}); got != want {
				t.Errorf("header = %s, want %s", got, want)
			}
			pb, _ := b64.DecodeString(parts[1])
			var m map[string]any
			json.Unmarshal(pb, &m)
			var names []string
			for k := range m {
				names = append(names, k)
			}
			if got, want := len(names), 9; got != want {
				t.Errorf("claims %v, want exactly iss sub aud exp iat jti client_id sid auth_time", names)
			}
			// A second token has another jti.
			tok2, _, _ := f.iss.Mint(testSession, testAud)
			c2, err := f.ver.Verify(context.Background(), tok2)
			if err != nil || c2.ID == c.ID {
				t.Errorf("second token: jti %q (first %q), err %v", c2.ID, c.ID, err)
			}
		})
	}
}

func TestLifetimeOptions(t *testing.T) {
	key := edKey(t, 1)
	tests := []struct {
		name    string
		life    time.Duration
		wantErr bool
	}{
		{"default", 0, false},
		{"one second", time.Second, false},
		{"five minutes", MaxLifetime, false},
		{"hostile: five minutes and a nanosecond", MaxLifetime + 1, true},
		{"hostile: one hour", time.Hour, true},
		{"hostile: negative", -time.Second, true},
		{"hostile: sub-second", time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testclock.New(testNow)
			i, err := NewIssuer(testIss, key, &IssuerOptions{Lifetime: tt.life})
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewIssuer err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			i.now = c.Now
			_, exp, err := i.Mint(testSession, testAud)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.life
			if want == 0 {
				want = DefaultLifetime
			}
			if got := exp.Sub(testNow); got != want {
				t.Errorf("lifetime = %v, want %v", got, want)
			}
		})
	}
}

func TestMintRefuses(t *testing.T) {
	f := newFixture(t, edKey(t, 1), nil)
	tests := []struct {
		name string
		s    Session
		aud  string
	}{
		{"no subject", Session{ID: "s", AuthTime: testNow}, testAud},
		{"no session ID", Session{Subject: "a", AuthTime: testNow}, testAud},
		{"no audience", testSession, ""},
		{"zero auth time", Session{Subject: "a", ID: "s"}, testAud},
		{"future auth time", Session{Subject: "a", ID: "s", AuthTime: testNow.Add(time.Second)}, testAud},
		{"hostile: control character in subject", Session{Subject: "a\x00b", ID: "s", AuthTime: testNow}, testAud},
		{"hostile: invalid UTF-8 audience", testSession, "\xff"},
		{"hostile: huge subject", Session{Subject: strings.Repeat("a", 2000), ID: "s", AuthTime: testNow}, testAud},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, _, err := f.iss.Mint(tt.s, tt.aud); err == nil {
				t.Errorf("Mint = %q, nil; want an error", tok)
			}
		})
	}
}

func TestNewVerifierOptions(t *testing.T) {
	ks := &KeySet{}
	tests := []struct {
		name     string
		iss, aud string
		keys     KeySource
		opts     *VerifierOptions
	}{
		{"no issuer", "", testAud, ks, nil},
		{"no audience", testIss, "", ks, nil},
		{"no keys", testIss, testAud, nil, nil},
		{"hostile: leeway over a minute", testIss, testAud, ks, &VerifierOptions{Leeway: MaxLeeway + 1}},
		{"hostile: negative leeway", testIss, testAud, ks, &VerifierOptions{Leeway: -1}},
		{"hostile: max length over 1 MiB", testIss, testAud, ks, &VerifierOptions{MaxTokenLen: 2 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewVerifier(tt.iss, tt.aud, tt.keys, tt.opts); err == nil {
				t.Error("NewVerifier succeeded, want an error")
			}
		})
	}
}

// TestAttackTable is the JWT attack table: each row is a token an attacker
// could present, and each must get ErrInvalidToken. Rows are signed with a
// key the verifier trusts wherever that is possible, so that they fail for
// the reason they name.
func TestAttackTable(t *testing.T) {
	key := edKey(t, 1)
	f := newFixture(t, key, &VerifierOptions{Leeway: 5 * time.Second})
	attacker := edKey(t, 2)
	esKey, _ := GenerateKey(ES256)

	var contacted atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacted.Add(1)
		t.Errorf("the verifier contacted %s", r.URL)
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer trap.Close()
	// Any request through the default transport fails the test too.
	saved := http.DefaultTransport
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		contacted.Add(1)
		t.Errorf("the verifier made a request to %s", r.URL)
		return nil, errors.New("no requests allowed")
	})
	defer func() { http.DefaultTransport = saved }()

	valid := f.mint(t)
	parts := strings.Split(valid, ".")
	// A token whose base64url text has a '-' or '_', so that rewriting it in
	// the standard alphabet changes it (a fresh jti each mint; almost every
	// token has one).
	urlOnly := valid
	for i := 0; !strings.ContainsAny(urlOnly, "-_"); i++ {
		if i == 100 {
			t.Fatal("100 tokens without '-' or '_'")
		}
		urlOnly = f.mint(t)
	}
	hdr, cl := baseHeader(key), baseClaims()
	good := func() string { return signRaw(t, key, mustJSON(hdr), mustJSON(cl)) }
	withHeader := func(fn func(m map[string]any)) string { return signRaw(t, key, edit(hdr, fn), mustJSON(cl)) }
	withClaims := func(fn func(m map[string]any)) string { return signRaw(t, key, mustJSON(hdr), edit(cl, fn)) }

	// HS256 "signed" with forms of the public key: the key-confusion attack.
	pub := key.Public().(ed25519.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkKey, _ := marshalJWKS([]*SigningKey{key})
	hs := func(secret []byte) string {
		h := edit(hdr, func(m map[string]any) { m["alg"] = "HS256" })
		in := b64.EncodeToString([]byte(h)) + "." + b64.EncodeToString([]byte(mustJSON(cl)))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(in))
		return in + "." + b64.EncodeToString(mac.Sum(nil))
	}
	none := func(alg string, withSig bool) string {
		h := edit(hdr, func(m map[string]any) { m["alg"] = alg })
		in := b64.EncodeToString([]byte(h)) + "." + parts[1]
		if withSig {
			return in + "." + parts[2]
		}
		return in + "."
	}
	// A token signed by the attacker's key that names it in the header.
	attackerJWK := func() map[string]any {
		j, _ := publicJWK(attacker.Public())
		return map[string]any{"kty": j.Kty, "crv": j.Crv, "x": j.X}
	}
	byAttacker := func(fn func(m map[string]any)) string {
		return signRaw(t, attacker, edit(baseHeader(attacker), fn), mustJSON(cl))
	}
	// Non-canonical signature encoding: 64 bytes leave 4 unused bits in
	// the last character; setting one keeps the decoded bytes the same
	// under lenient decoding.
	sig := parts[2]
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
	noncanonSig := parts[0] + "." + parts[1] + "." + sig[:len(sig)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	modPayload := func() string {
		m := baseClaims()
		m["sub"] = "admin"
		return parts[0] + "." + b64.EncodeToString([]byte(mustJSON(m))) + "." + parts[2]
	}()
	big := withClaims(func(m map[string]any) { m["pad"] = strings.Repeat("x", 1<<20) })

	tests := []struct {
		name  string
		token string
	}{
		{"alg none without signature", none("none", false)},
		{"alg none with signature", none("none", true)},
		{"alg None without signature", none("None", false)},
		{"alg None with signature", none("None", true)},
		{"alg NONE without signature", none("NONE", false)},
		{"alg NONE with signature", none("NONE", true)},
		{"alg missing", withHeader(func(m map[string]any) { delete(m, "alg") })},
		{"alg RS256", withHeader(func(m map[string]any) { m["alg"] = "RS256" })},
		{"alg eddsa lowercase", withHeader(func(m map[string]any) { m["alg"] = "eddsa" })},
		{"alg ES256 on an Ed25519 key", withHeader(func(m map[string]any) { m["alg"] = ES256 })},
		{"alg EdDSA on a P-256 key", signRaw(t, esKey, edit(baseHeader(esKey), func(m map[string]any) { m["alg"] = EdDSA }), mustJSON(cl))},
		{"HS256 with the public key PEM", hs(pemKey)},
		{"HS256 with the public key DER", hs(der)},
		{"HS256 with the public key JWK", hs(jwkKey)},
		{"HS256 with the raw public key", hs(pub)},
		{"kid blank", withHeader(func(m map[string]any) { m["kid"] = "" })},
		{"kid missing", withHeader(func(m map[string]any) { delete(m, "kid") })},
		{"kid ../../dev/null", withHeader(func(m map[string]any) { m["kid"] = "../../dev/null" })},
		{"kid SQL injection", withHeader(func(m map[string]any) { m["kid"] = "x' UNION SELECT 'secret' --" })},
		{"kid unknown", withHeader(func(m map[string]any) { m["kid"] = "unknown-key" })},
		{"kid a number", withHeader(func(m map[string]any) { m["kid"] = 1 })},
		{"kid of an untrusted key", byAttacker(func(m map[string]any) {})},
		{"jku to another server", byAttacker(func(m map[string]any) { m["jku"] = trap.URL + "/jwks.json" })},
		{"jku with a trusted kid", withHeader(func(m map[string]any) { m["jku"] = trap.URL + "/jwks.json" })},
		{"x5u to another server", byAttacker(func(m map[string]any) { m["x5u"] = trap.URL + "/cert.pem" })},
		{"x5u with a trusted kid", withHeader(func(m map[string]any) { m["x5u"] = trap.URL + "/cert.pem" })},
		{"embedded jwk", byAttacker(func(m map[string]any) { m["jwk"] = attackerJWK() })},
		{"embedded jwk with a trusted kid", withHeader(func(m map[string]any) { m["jwk"] = attackerJWK() })},
		{"embedded x5c", withHeader(func(m map[string]any) { m["x5c"] = []string{b64.EncodeToString(der)} })},
		{"crit", withHeader(func(m map[string]any) { m["crit"] = []string{"exp"} })},
		{"crit b64", withHeader(func(m map[string]any) { m["crit"] = []string{"b64"}; m["b64"] = false })},
		{"JWE enc header", withHeader(func(m map[string]any) { m["enc"] = "A256GCM" })},
		{"expired", withClaims(func(m map[string]any) {
			m["exp"] = testNow.Add(-6 * time.Second).Unix()
			m["iat"] = testNow.Add(-66 * time.Second).Unix()
		})},
		{"future nbf", withClaims(func(m map[string]any) { m["nbf"] = testNow.Add(30 * time.Second).Unix() })},
		{"future iat", withClaims(func(m map[string]any) {
			m["iat"] = testNow.Add(30 * time.Second).Unix()
			m["exp"] = testNow.Add(90 * time.Second).Unix()
		})},
		{"missing exp", withClaims(func(m map[string]any) { delete(m, "exp") })},
		{"null exp", withClaims(func(m map[string]any) { m["exp"] = nil })},
		{"string exp", withClaims(func(m map[string]any) { m["exp"] = fmt.Sprint(testNow.Add(time.Minute).Unix()) })},
		{"missing iat", withClaims(func(m map[string]any) { delete(m, "iat") })},
		{"exp beyond the max lifetime", withClaims(func(m map[string]any) { m["exp"] = testNow.Add(time.Hour).Unix() })},
		{"exp far future, iat backdated", withClaims(func(m map[string]any) {
			m["iat"] = testNow.Add(-24 * time.Hour).Unix()
			m["exp"] = testNow.Add(365 * 24 * time.Hour).Unix()
		})},
		{"wrong aud", withClaims(func(m map[string]any) { m["aud"] = "https://other.example" })},
		{"array aud without ours", withClaims(func(m map[string]any) { m["aud"] = []string{"https://a.example", "https://b.example"} })},
		{"missing aud", withClaims(func(m map[string]any) { delete(m, "aud") })},
		{"empty aud array", withClaims(func(m map[string]any) { m["aud"] = []string{} })},
		{"aud case changed", withClaims(func(m map[string]any) { m["aud"] = strings.ToUpper(testAud) })},
		{"wrong iss", withClaims(func(m map[string]any) { m["iss"] = "https://evil.example" })},
		{"missing iss", withClaims(func(m map[string]any) { delete(m, "iss") })},
		{"iss with trailing slash", withClaims(func(m map[string]any) { m["iss"] = testIss + "/" })},
		{"iss as array", withClaims(func(m map[string]any) { m["iss"] = []string{testIss} })},
		{"missing sub", withClaims(func(m map[string]any) { delete(m, "sub") })},
		{"missing jti", withClaims(func(m map[string]any) { delete(m, "jti") })},
		{"missing sid", withClaims(func(m map[string]any) { delete(m, "sid") })},
		{"future auth_time", withClaims(func(m map[string]any) { m["auth_time"] = testNow.Add(time.Hour).Unix() })},
		{"wrong typ JWT", withHeader(func(m map[string]any) { m["typ"] = "JWT" })},
		{"typ of an ID token", withHeader(func(m map[string]any) { m["typ"] = "id_token+jwt" })},
		{"missing typ", withHeader(func(m map[string]any) { delete(m, "typ") })},
		{"modified payload", modPayload},
		{"signature from another token", parts[0] + "." + strings.Split(withClaims(func(m map[string]any) { m["jti"] = "j2" }), ".")[1] + "." + parts[2]},
		{"stripped signature", parts[0] + "." + parts[1] + "."},
		{"signature segment removed", parts[0] + "." + parts[1]},
		{"truncated signature", valid[:len(valid)-4]},
		{"non-canonical base64: trailing bits in signature", noncanonSig},
		{"non-canonical base64: padding", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"non-canonical base64: standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(urlOnly)},
		{"non-canonical base64: newline", parts[0] + "\n." + parts[1] + "." + parts[2]},
		{"non-canonical base64: space", " " + valid},
		{"duplicate aud in payload", signRaw(t, key, mustJSON(hdr), strings.Replace(mustJSON(cl), `{`, `{"aud":"https://other.example",`, 1))},
		{"duplicate sub differing in case", signRaw(t, key, mustJSON(hdr), strings.Replace(mustJSON(cl), `{`, `{"SUB":"admin",`, 1))},
		{"duplicate sub with Kelvin-sign folding", signRaw(t, key, mustJSON(hdr), strings.Replace(mustJSON(cl), `"sub"`, `"sub":"admin","\u017fub"`, 1))},
		{"duplicate alg in header", signRaw(t, key, strings.Replace(mustJSON(hdr), `{`, `{"alg":"none",`, 1), mustJSON(cl))},
		{"duplicate typ in header", signRaw(t, key, strings.Replace(mustJSON(hdr), `{`, `{"typ":"JWT",`, 1), mustJSON(cl))},
		{"duplicate key in nested object", withClaims(func(m map[string]any) { m["x"] = json.RawMessage(`{"a":1,"a":2}`) })},
		{"payload is an array", signRaw(t, key, mustJSON(hdr), `[`+mustJSON(cl)+`]`)},
		{"payload with trailing data", signRaw(t, key, mustJSON(hdr), mustJSON(cl)+`{}`)},
		{"header is null", signRaw(t, key, `null`, mustJSON(cl))},
		{"1 MB token, signed", big},
		{"1 MB of garbage", strings.Repeat("A", 1<<20)},
		{"JWE compact (five segments)", valid + "." + parts[1] + "." + parts[2]},
		{"empty", ""},
		{"dots only", ".."},
		{"hostile: NUL bytes", "\x00.\x00.\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.ver.Verify(context.Background(), tt.token)
			if !errors.Is(err, ErrInvalidToken) || err.Error() != ErrInvalidToken.Error() {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", c, err)
			}
			if c != nil {
				t.Errorf("claims %+v returned with an error", c)
			}
		})
	}
	if n := contacted.Load(); n != 0 {
		t.Errorf("trap server contacted %d times, want 0", n)
	}

	// Controls: the same constructions accept a well-formed token, so each
	// row above was refused for its own reason.
	controls := []struct {
		name  string
		token string
	}{
		{"minted", valid},
		{"signRaw with the base header and claims", good()},
		{"array aud with ours", withClaims(func(m map[string]any) { m["aud"] = []string{"https://a.example", testAud} })},
		{"typ application/at+jwt", withHeader(func(m map[string]any) { m["typ"] = "application/at+jwt" })},
		{"typ AT+JWT", withHeader(func(m map[string]any) { m["typ"] = "AT+JWT" })},
		{"exp within leeway", withClaims(func(m map[string]any) {
			m["exp"] = testNow.Add(-4 * time.Second).Unix()
			m["iat"] = testNow.Add(-64 * time.Second).Unix()
		})},
		{"lifetime of exactly five minutes", withClaims(func(m map[string]any) { m["exp"] = testNow.Add(MaxLifetime).Unix() })},
		{"unknown extra claim", withClaims(func(m map[string]any) { m["scope"] = "read" })},
	}
	for _, tt := range controls {
		t.Run("control/"+tt.name, func(t *testing.T) {
			if _, err := f.ver.Verify(context.Background(), tt.token); err != nil {
				t.Fatalf("Verify = %v, want success", err)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMaxTokenLen(t *testing.T) {
	f := newFixture(t, edKey(t, 1), &VerifierOptions{MaxTokenLen: 100})
	tok := f.mint(t)
	if _, err := f.ver.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(%d-byte token, max 100) = %v, want ErrInvalidToken", len(tok), err)
	}
}

func TestRotation(t *testing.T) {
	k1, k2, k3 := edKey(t, 1), edKey(t, 2), edKey(t, 3)
	f := newFixture(t, k1, nil)
	old := f.mint(t)
	f.clock.Set(testNow.Add(10 * time.Second))
	if err := f.iss.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	if err := f.iss.Rotate(k2); err == nil {
		t.Error("Rotate to the current key succeeded")
	}
	fresh := f.mint(t)
	if kid := headerOf(t, fresh)["kid"]; kid != k2.KeyID() {
		t.Errorf("new token kid = %v, want %s", kid, k2.KeyID())
	}
	// Both tokens verify during the overlap, through the issuer and through
	// its published JWKS.
	doc, _ := f.iss.JWKS()
	ks, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 2 {
		t.Errorf("JWKS has %d keys during the overlap, want 2", ks.Len())
	}
	viaJWKS, _ := NewVerifier(testIss, testAud, ks, nil)
	viaJWKS.now = f.clock.Now
	for name, tok := range map[string]string{"old": old, "fresh": fresh} {
		if _, err := f.ver.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s token via issuer: %v", name, err)
		}
		if _, err := viaJWKS.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s token via JWKS: %v", name, err)
		}
	}
	// The old key stays published until its last token plus the largest
	// leeway has passed, then leaves the JWKS.
	f.clock.Set(testNow.Add(10*time.Second + DefaultLifetime + MaxLeeway - time.Second))
	if n := jwksLen(t, f.iss); n != 2 {
		t.Errorf("JWKS has %d keys just before the overlap ends, want 2", n)
	}
	f.clock.Set(testNow.Add(10*time.Second + DefaultLifetime + MaxLeeway))
	if n := jwksLen(t, f.iss); n != 1 {
		t.Errorf("JWKS has %d keys after the overlap, want 1", n)
	}
	if _, err := f.iss.PublicKey(context.Background(), k1.KeyID()); err == nil {
		t.Error("retired key still served after the overlap")
	}
	if err := f.iss.Rotate(k3); err != nil {
		t.Fatal(err)
	}
	if n := len(f.iss.retired); n != 1 {
		t.Errorf("issuer keeps %d retired keys, want 1 (expired ones pruned)", n)
	}
}

func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	hb, _ := b64.DecodeString(strings.Split(tok, ".")[0])
	var m map[string]any
	json.Unmarshal(hb, &m)
	return m
}

func jwksLen(t *testing.T, i *Issuer) int {
	t.Helper()
	doc, err := i.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	return ks.Len()
}

func TestJWKSDocument(t *testing.T) {
	ed := edKey(t, 1)
	es, _ := GenerateKey(ES256)
	i, _ := NewIssuer(testIss, ed, nil)
	doc, err := i.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(ed.Public().(ed25519.PublicKey)) + `","kid":"` + ed.KeyID() + `","alg":"EdDSA","use":"sig"}]}`
	if string(doc) != want {
		t.Errorf("JWKS =\n%s\nwant\n%s", doc, want)
	}
	i.Rotate(es)
	doc, _ = i.JWKS()
	var d struct{ Keys []map[string]string }
	json.Unmarshal(doc, &d)
	if len(d.Keys) != 2 || d.Keys[0]["kty"] != "EC" || d.Keys[0]["crv"] != "P-256" || d.Keys[0]["alg"] != ES256 || len(d.Keys[0]["y"]) != 43 {
		t.Errorf("JWKS after rotation to ES256 = %s", doc)
	}
	for _, k := range d.Keys {
		if _, ok := k["d"]; ok {
			t.Errorf("JWKS contains a private key: %s", doc)
		}
	}
	// The handler.
	rec := httptest.NewRecorder()
	i.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/jwk-set+json" || rec.Body.String() != string(doc) {
		t.Errorf("GET jwks.json = %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = httptest.NewRecorder()
	i.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST jwks.json = %d, want 405", rec.Code)
	}
}

func TestParseJWKSRejects(t *testing.T) {
	ed := edKey(t, 1)
	x := b64.EncodeToString(ed.Public().(ed25519.PublicKey))
	tests := []struct{ name, doc string }{
		{"private key", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","d":"` + x + `","kid":"a"}]}`},
		{"RSA key", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"}]}`},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}`},
		{"X25519 key", `{"keys":[{"kty":"OKP","crv":"X25519","x":"` + x + `","kid":"a"}]}`},
		{"missing kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}]}`},
		{"duplicate kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"a"},{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"a"}]}`},
		{"short x", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}`},
		{"padded x", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `=","kid":"a"}]}`},
		{"alg mismatch", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"a","alg":"ES256"}]}`},
		{"encryption key", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"a","use":"enc"}]}`},
		{"EC point not on the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + b64.EncodeToString(make([]byte, 32)) + `","y":"` + b64.EncodeToString(bytes.Repeat([]byte{1}, 32)) + `","kid":"a"}]}`},
		{"P-384", `{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA","kid":"a"}]}`},
		{"duplicate member", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","x":"AAAA","kid":"a"}]}`},
		{"not JSON", `keys`},
		{"array", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ks, err := ParseJWKS([]byte(tt.doc)); err == nil {
				t.Errorf("ParseJWKS = %d keys, nil; want an error", ks.Len())
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	errStore := errors.New("store down")
	var revoked, failing atomic.Bool
	check := RevocationFunc(func(ctx context.Context, c *Claims) (bool, error) {
		if failing.Load() {
			return false, errStore
		}
		return revoked.Load() && c.SessionID == "sess-1", nil
	})
	f := newFixture(t, edKey(t, 1), &VerifierOptions{Revocation: check})
	tok := f.mint(t)
	if _, err := f.ver.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify before revocation = %v", err)
	}
	revoked.Store(true)
	if _, err := f.ver.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify after revocation = %v, want ErrInvalidToken", err)
	}
	failing.Store(true)
	_, err := f.ver.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, ErrInvalidToken) || !errors.Is(err, errStore) {
		t.Errorf("Verify with a failing checker = %v, want an error wrapping the checker's (fail closed)", err)
	}
}

func TestVerifierLogsReasonNotToken(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, edKey(t, 1), &VerifierOptions{Logger: log})
	tok := f.mint(t)
	f.clock.Set(testNow.Add(time.Hour))
	if _, err := f.ver.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(expired) = %v", err)
	}
	if !strings.Contains(buf.String(), "reason=") || strings.Contains(buf.String(), strings.Split(tok, ".")[2]) {
		t.Errorf("log = %q, want a reason and no token", buf.String())
	}
}

func TestRemoteKeySet(t *testing.T) {
	k1, k2 := edKey(t, 1), edKey(t, 2)
	c := testclock.New(testNow)
	iss, _ := NewIssuer(testIss, k1, nil)
	iss.now = c.Now
	var fetches atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			t.Errorf("unexpected request %s", r.URL)
		}
		fetches.Add(1)
		iss.JWKSHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if _, err := NewRemoteKeySet(ctx, strings.Replace(srv.URL, "https", "http", 1), nil); err == nil {
		t.Error("NewRemoteKeySet accepted an http URL")
	}
	if _, err := NewRemoteKeySet(ctx, "/relative", nil); err == nil {
		t.Error("NewRemoteKeySet accepted a relative URL")
	}
	rks, err := NewRemoteKeySet(ctx, srv.URL+"/.well-known/jwks.json", &RemoteOptions{Client: srv.Client(), RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(testIss, testAud, rks, nil)
	if err != nil {
		t.Fatal(err)
	}
	ver.now = c.Now
	tok, _, _ := iss.Mint(testSession, testAud)
	if _, err := ver.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify via remote JWKS = %v", err)
	}
	// After rotation the new kid is unknown to the cache; keyfunc refetches.
	iss.Rotate(k2)
	tok2, _, _ := iss.Mint(testSession, testAud)
	if _, err := ver.Verify(ctx, tok2); err != nil {
		t.Fatalf("Verify of a token signed by the new key = %v", err)
	}
	if n := fetches.Load(); n < 2 {
		t.Errorf("JWKS fetched %d times, want a refetch on the unknown kid", n)
	}
	// Hostile rows go through the remote source too.
	attacker := edKey(t, 9)
	forged := signRaw(t, attacker, mustJSON(baseHeader(attacker)), mustJSON(baseClaims()))
	if _, err := ver.Verify(ctx, forged); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(token from an unknown key) = %v, want ErrInvalidToken", err)
	}
}

func TestRedacted(t *testing.T) {
	k := edKey(t, 1)
	seed := k.priv.(ed25519.PrivateKey).Seed()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("k", "key", k, "keyv", *k)
	iss, _ := NewIssuer(testIss, k, nil)
	for _, s := range []string{fmt.Sprint(iss), fmt.Sprintf("%#v", iss), fmt.Sprint(k), fmt.Sprint(*k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%#v", *k), buf.String()} {
		if !strings.Contains(s, "REDACTED") || strings.Contains(s, fmt.Sprint(seed[:4])) || strings.Contains(s, b64.EncodeToString(seed)) {
			t.Errorf("formatted signing key %q, want REDACTED", s)
		}
	}
	if _, err := ParseSigningKey([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")); err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("ParseSigningKey(garbage) = %v", err)
	}
}

func TestSigningKeyPEMRoundTrip(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256} {
		k, _ := GenerateKey(alg)
		p, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParseSigningKey(p)
		if err != nil {
			t.Fatal(err)
		}
		if k2.KeyID() != k.KeyID() || k2.Algorithm() != alg {
			t.Errorf("%s: round trip gave kid %s alg %s, want %s %s", alg, k2.KeyID(), k2.Algorithm(), k.KeyID(), alg)
		}
	}
	if _, err := GenerateKey("HS256"); err == nil {
		t.Error("GenerateKey(HS256) succeeded")
	}
	if _, err := NewSigningKey(crypto.Signer(nil)); err == nil {
		t.Error("NewSigningKey(nil) succeeded")
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, edKey(t, 1), nil)
	keys := []*SigningKey{edKey(t, 2), edKey(t, 3), edKey(t, 4)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, k := range keys {
			if err := f.iss.Rotate(k); err != nil {
				t.Error(err)
			}
			if _, err := f.iss.JWKS(); err != nil {
				t.Error(err)
			}
		}
	}()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 20 {
				tok, _, err := f.iss.Mint(testSession, testAud)
				if err == nil {
					_, err = f.ver.Verify(context.Background(), tok)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
}
