package seal

// Nonce is the package-level Nonce as a method, so that a *Sealer satisfies
// interfaces that ask for sealing and nonces together (Keycard's sealed
// session cookies use the nonce as the session's CSRF token).
func (*Sealer) Nonce(value string) (string, error) { return Nonce(value) }
