package jwt

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
)

// RemoteOptions configures a RemoteKeySet. A nil *RemoteOptions means all
// defaults.
type RemoteOptions struct {
	// Client makes the requests. The default is an http.Client with a
	// 10-second timeout. Give one with a custom RootCAs to trust a private CA.
	Client *http.Client
	// RefreshInterval is how often the JWKS is fetched in the background.
	// The default is 5 minutes. An unknown kid also triggers a fetch, at
	// most once every 5 minutes (keyfunc's default rate limit).
	RefreshInterval time.Duration
	// InsecureAllowHTTP permits an http:// JWKS URL. Not secure: anyone on
	// the network path can substitute their own keys and mint tokens that
	// verify. The default requires https.
	InsecureAllowHTTP bool
}

// RemoteKeySet is a KeySource backed by a JWKS document fetched from a
// configured URL and kept fresh in the background by
// github.com/MicahParks/keyfunc. It only ever contacts that one URL, never
// a location named in a token. Create one with NewRemoteKeySet; the zero
// value is not usable. It is safe for concurrent use; it stops refreshing
// when the context given to NewRemoteKeySet is done.
type RemoteKeySet struct {
	kf keyfunc.Keyfunc
}

// NewRemoteKeySet starts fetching the JWKS at jwksURL (an https URL, such
// as https://keycard.example/.well-known/jwks.json). It does not fail when
// the first fetch fails; tokens simply do not verify until a fetch succeeds.
func NewRemoteKeySet(ctx context.Context, jwksURL string, opts *RemoteOptions) (*RemoteKeySet, error) {
	u, err := url.Parse(jwksURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("jwt: JWKS URL must be an absolute https URL")
	}
	var o RemoteOptions
	if opts != nil {
		o = *opts
	}
	if u.Scheme == "http" && !o.InsecureAllowHTTP {
		return nil, errors.New("jwt: JWKS URL must use https (InsecureAllowHTTP permits http)")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, keyfunc.Override{
		Client:          o.Client,
		HTTPTimeout:     o.Client.Timeout,
		RefreshInterval: o.RefreshInterval,
	})
	if err != nil {
		return nil, errors.New("jwt: cannot start the JWKS client")
	}
	return &RemoteKeySet{kf: kf}, nil
}

// PublicKey returns the key with key ID kid from the fetched JWKS. Only
// Ed25519 and P-256 keys are returned; a JWK whose alg disagrees with its
// key type is treated as unknown.
func (r *RemoteKeySet) PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error) {
	j, err := r.kf.Storage().KeyRead(ctx, kid)
	if err != nil {
		return nil, errUnknownKID
	}
	pub := j.Key()
	if p, ok := pub.(interface{ Public() crypto.PublicKey }); ok {
		pub = p.Public() // a private JWK in a public set: use only its public half
	}
	a := algFor(pub)
	if a == "" {
		return nil, errUnknownKID
	}
	if ja := j.Marshal().ALG.String(); ja != "" && ja != a {
		return nil, errUnknownKID
	}
	return pub, nil
}
