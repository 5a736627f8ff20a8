package keycard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Refresh tokens let an API or CLI client keep a session without holding a
// long-lived access token: the access token (the session token) is replaced
// at every refresh, and so is the refresh token itself. Presenting a refresh
// token that was already used means two parties hold it, one of them possibly
// an attacker, so the whole session (every token of that family) is ended,
// as the OAuth 2.0 Security Best Current Practice (RFC 9700 section 4.14.2)
// prescribes.
//
// Format: "kr1." + session ID + "." + 43 characters of base64url secret. The
// ID locates the session in one store read; only the SHA-256 of the secret is
// stored, together with the hashes of the last few used secrets so that reuse
// can be told from a forgery (a forged secret for a known ID ends nothing).

const (
	refreshPrefix = "kr1."
	// usedRefreshKept is how many used refresh-token hashes a session keeps
	// to recognise reuse.
	usedRefreshKept = 8
)

// meta is Keycard's own per-session state, kept in Record.Meta as JSON.
type meta struct {
	Refresh     string   `json:"rt,omitempty"`  // hex SHA-256 of the current refresh secret
	UsedRefresh []string `json:"rtu,omitempty"` // hex SHA-256 of used refresh secrets, newest last
	CSRF        []byte   `json:"csrf,omitempty"`
	Reauth      bool     `json:"reauth,omitempty"` // guard asked for re-authentication
}

func readMeta(r *storage.Record) meta {
	if len(r.Meta) == 0 {
		return meta{} // no allocation on the common path
	}
	var m meta
	_ = json.Unmarshal(r.Meta, &m) // written only by Keycard; treat garbage as empty
	return m
}

func (m meta) encode() []byte {
	if m.Refresh == "" && len(m.UsedRefresh) == 0 && len(m.CSRF) == 0 && !m.Reauth {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

// Credentials are what Issue and Refresh hand to a client, once.
//
// Its JSON form is what Keycard's HTTP API answers a login with
// ({"token","refresh_token","session"}) and so carries the tokens in clear:
// encode it into a response to its client, never into a log.
type Credentials struct {
	Token        Token `json:"token"`                   // the session (access) token
	RefreshToken Token `json:"refresh_token,omitempty"` // the refresh token; empty for browser sessions
	Session      Info  `json:"session"`
}

func newRefresh(id string) (tok Token, hash string) {
	secret, _ := newToken()
	sum := sha256.Sum256([]byte(secret))
	return Token(refreshPrefix + id + "." + secret.Reveal()), hex.EncodeToString(sum[:])
}

// parseRefresh splits a refresh token into session ID and secret hash.
func parseRefresh(s string) (id, hash string, ok bool) {
	rest, ok := strings.CutPrefix(s, refreshPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok || id == "" || len(id) > 128 || !tokenShaped(secret) {
		return "", "", false
	}
	sum := sha256.Sum256([]byte(secret))
	return id, hex.EncodeToString(sum[:]), true
}

// Refresh exchanges a refresh token for a new access token and a new refresh
// token. The previous access token keeps working for the renewal grace
// window (requests in flight); the previous refresh token never works again,
// and presenting it later ends the session (EventReplay). Refresh records
// activity but never extends the absolute deadline. Every failure returns
// ErrInvalidToken, except a store failure (ErrStoreUnavailable).
func (m *Manager) Refresh(ctx context.Context, refreshToken string) (Credentials, error) {
	id, hash, ok := parseRefresh(refreshToken)
	if !ok {
		m.emit(ctx, Event{Type: EventInvalidToken, Kind: KindAPI, Reason: ReasonMalformedRefresh})
		return Credentials{}, ErrInvalidToken
	}
	for range maxCommitAttempts {
		now := m.now()
		rec, err := m.store.GetByID(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			m.emit(ctx, Event{Type: EventInvalidToken, Kind: KindAPI, Reason: ReasonUnknownRefresh})
			return Credentials{}, ErrInvalidToken
		}
		if err != nil {
			return Credentials{}, storeErr(err)
		}
		md := readMeta(rec)
		switch {
		case rec.Kind != KindAPI || md.Refresh == "":
			m.emit(ctx, Event{Type: EventInvalidToken, SessionID: rec.ID, Kind: KindAPI, Reason: ReasonNoRefresh})
			return Credentials{}, ErrInvalidToken
		case slices.ContainsFunc(md.UsedRefresh, func(u string) bool { return equalHex(u, hash) }):
			m.emit(ctx, Event{Type: EventReplay, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindAPI, Reason: ReasonRefreshReuse})
			if err := m.store.DeleteByID(ctx, rec.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return Credentials{}, storeErr(err)
			}
			m.emit(ctx, Event{Type: EventRevoked, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindAPI, Reason: ReasonRefreshReuse})
			return Credentials{}, ErrInvalidToken
		case !equalHex(md.Refresh, hash):
			m.emit(ctx, Event{Type: EventInvalidToken, SessionID: rec.ID, Kind: KindAPI, Reason: ReasonWrongRefresh})
			return Credentials{}, ErrInvalidToken
		case !now.Before(rec.ExpiresAt) || !now.Before(rec.IdleExpiresAt):
			m.emit(ctx, Event{Type: EventExpired, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindAPI})
			return Credentials{}, ErrInvalidToken
		}
		next := rec.Clone()
		rt, rtHash := newRefresh(rec.ID)
		md.UsedRefresh = append(md.UsedRefresh, md.Refresh)
		if len(md.UsedRefresh) > usedRefreshKept {
			md.UsedRefresh = md.UsedRefresh[len(md.UsedRefresh)-usedRefreshKept:]
		}
		md.Refresh = rtHash
		next.Meta = md.encode()
		tok, h := newToken()
		next.Hash, next.Version, next.RenewedAt, next.LastSeenAt = h, 0, now, now
		next.IdleExpiresAt = m.cfg.idleDeadline(next, now)
		var grace time.Time
		if m.cfg.grace > 0 {
			grace = now.Add(m.cfg.grace)
		}
		err = m.store.Rotate(ctx, rec, next, grace)
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			continue // re-read: a concurrent refresh with the same token is a reuse
		}
		if err != nil {
			return Credentials{}, storeErr(err)
		}
		m.emit(ctx, Event{Type: EventRenewed, Time: now, SessionID: next.ID, Subject: next.Subject, Kind: KindAPI, Reason: ReasonRefresh})
		return Credentials{Token: tok, RefreshToken: rt, Session: infoOf(next)}, nil
	}
	return Credentials{}, storeErr(storage.ErrConflict)
}

func equalHex(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
