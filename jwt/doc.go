// Package jwt mints short-lived access tokens from live Keycard sessions and
// verifies them in the services that receive them.
//
// A Keycard session lives in the Keycard store and is checked on every
// request. Another service (an API behind the web application, a worker)
// cannot read that store; it gets an access token instead: a JWT in the
// RFC 9068 profile (typ "at+jwt") that says who the user is, which session
// it came from, and for which service it is meant, valid for a minute.
//
// The issuing side:
//
//	key, _ := jwt.GenerateKey(jwt.EdDSA)
//	iss, _ := jwt.NewIssuer("https://keycard.example", key, nil)
//	http.Handle("GET /.well-known/jwks.json", iss.JWKSHandler())
//	tok, exp, err := iss.Mint(jwt.Session{Subject: sub, ID: sid, AuthTime: at}, "https://api.example")
//
// The receiving side:
//
//	keys, _ := jwt.NewRemoteKeySet(ctx, "https://keycard.example/.well-known/jwks.json", nil)
//	v, _ := jwt.NewVerifier("https://keycard.example", "https://api.example", keys, nil)
//	claims, err := v.Verify(ctx, tok)
//
// Tokens are built and checked with github.com/golang-jwt/jwt/v5; remote
// key sets are fetched and cached by github.com/MicahParks/keyfunc/v3.
//
// # Security model
//
// Tokens are signed, not encrypted: every claim is readable by whoever
// holds the token. Mint therefore takes only the session's facts (subject,
// session ID, authentication time) and an audience, never session data.
// The claims are iss, sub, aud, exp, iat, jti, client_id, sid and auth_time.
//
// An access token is a bearer credential that cannot be recalled once
// issued. Its lifetime bounds the damage of a leak: 60 seconds by default,
// never more than 5 minutes. A Verifier can also ask a RevocationChecker
// whether the token's session has ended, which makes logout immediate for
// that service at the cost of a lookup.
//
// The Verifier follows RFC 8725 (JWT best current practices). It refuses,
// with the one opaque error ErrInvalidToken:
//   - tokens longer than 8 KiB, before decoding anything;
//   - anything but three canonical base64url segments (no padding,
//     whitespace or non-zero trailing bits);
//   - a header or payload that is not a single JSON object, or has
//     duplicate members (compared as encoding/json would match them);
//   - a typ other than at+jwt, so an ID token or another JWT cannot be
//     replayed as an access token;
//   - the jku, jwk, x5u, x5c and crit headers: keys come only from the
//     configured KeySource, never from a location the token names, and no
//     request is ever made because of a token;
//   - a missing or unknown kid, and an alg other than the one algorithm
//     of that key (EdDSA for Ed25519, ES256 for P-256): "none", HMAC with
//     the public key as the secret, and cross-algorithm tricks all fail;
//   - a bad signature; then a wrong or missing iss or aud, a missing or
//     past exp, a future nbf or iat, a missing iat, exp more than
//     MaxLifetime after iat, missing sub, jti or sid, or a future
//     auth_time. Leeway for clock skew is zero unless configured, and never
//     more than a minute.
//
// The reason for a refusal goes to an optional slog.Logger at debug level,
// never into the error, and never with the token.
//
// # Key rotation
//
// Key IDs are RFC 7638 thumbprints of the public keys. Issuer.Rotate makes a
// new key sign at once; the previous key stays in the JWKS, and keeps
// verifying, until every token it signed has expired plus the largest
// allowed leeway, then it disappears from the JWKS on its own. A
// RemoteKeySet refreshes the JWKS in the background and also when it meets
// an unknown kid (rate-limited), so services pick up the new key without a
// restart. To retire a compromised key at once, build a new Issuer without
// it: tokens it signed stop verifying everywhere as soon as verifiers
// refetch the JWKS.
//
// # Testing
//
// Issuers and Verifiers read time.Now; there is no clock option. A test of
// expiry, leeway or rotation runs under testing/synctest, whose bubble
// moves time.Now for the Issuer, the Verifier and the rest of the program
// alike.
package jwt
