package jwt

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// claimSet is the wire form of a Keycard access token's claims (RFC 9068
// section 2.2). It implements gojwt.Claims, so golang-jwt's validator checks
// exp, nbf, iat, iss and aud on it, with date and audience types that
// decode without a nested encoding/json pass per claim.
type claimSet struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  audience     `json:"aud,omitempty"`
	ExpiresAt *numericDate `json:"exp,omitempty"`
	NotBefore *numericDate `json:"nbf,omitempty"`
	IssuedAt  *numericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
	ClientID  string       `json:"client_id,omitempty"`
	SessionID string       `json:"sid,omitempty"`
	AuthTime  *numericDate `json:"auth_time,omitempty"`
	// Generation is the revocation generation a sealed session was sealed
	// under (keycard.Session.Generation), absent for other sessions, so
	// that a RevokeAll ends the tokens of a sealed session too.
	Generation uint64 `json:"sid_gen,omitempty"`
}

func gojwtDate(d *numericDate) *gojwt.NumericDate {
	if d == nil {
		return nil
	}
	return &gojwt.NumericDate{Time: d.Time}
}

// GetExpirationTime implements gojwt.Claims.
func (c *claimSet) GetExpirationTime() (*gojwt.NumericDate, error) {
	return gojwtDate(c.ExpiresAt), nil
}

// GetIssuedAt implements gojwt.Claims.
func (c *claimSet) GetIssuedAt() (*gojwt.NumericDate, error) { return gojwtDate(c.IssuedAt), nil }

// GetNotBefore implements gojwt.Claims.
func (c *claimSet) GetNotBefore() (*gojwt.NumericDate, error) { return gojwtDate(c.NotBefore), nil }

// GetIssuer implements gojwt.Claims.
func (c *claimSet) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements gojwt.Claims.
func (c *claimSet) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements gojwt.Claims.
func (c *claimSet) GetAudience() (gojwt.ClaimStrings, error) {
	return gojwt.ClaimStrings(c.Audience), nil
}

// numericDate is a JSON number of seconds since the Unix epoch (RFC 7519
// section 2). Keycard writes whole seconds; it reads fractions too.
type numericDate struct{ time.Time }

func newDate(t time.Time) *numericDate { return &numericDate{t.Truncate(time.Second)} }

// maxDate bounds dates to years before 33658, far past any real token and
// well inside float64's exact integers.
const maxDate = 1e12

// MarshalJSON writes whole seconds.
func (d numericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, d.Unix(), 10), nil
}

// UnmarshalJSON reads a JSON number. A string, even of digits, is refused.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] == '"' {
		return errors.New("date is not a number")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxDate {
		return errors.New("date is not a number in range")
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// audience is the aud claim: one string or an array of strings (RFC 7519
// section 4.1.3). One audience is written as a string.
type audience []string

// MarshalJSON writes a single audience as a string.
func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}
