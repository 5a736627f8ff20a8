package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/keycard-go/keycard/seal"
	"github.com/keycard-go/keycard/server"
)

var keysCommand = &command{
	name:    "keys",
	summary: "manage the key file of keycard serve",
	about: `Keys manages the key file of keycard serve: JSON, mode 0600, refused when
group- or world-readable. It holds the JWT signing keys, the seal secrets
(used with serve --seal), the fingerprint key, the audit salt and the hashes
of the admin API keys. Its default is keycard-keys.json next to the sqlite
database of --store; redis and postgres stores need --keys-file. Every node
of a deployment needs the same file: after a change, copy it to each node
and restart them.`,
	sub: []*command{
		{
			name: "list", summary: "show the keys of the key file (never the secrets)", nargs: 0,
			about:    "Keys list shows the signing key IDs, the seal key IDs and the admin key hashes of the key file; no secret is printed.",
			examples: "keycard keys list\nkeycard keys list --keys-file /etc/keycard/keys.json",
			new:      newKeys,
		},
		{
			name: "rotate", summary: "add a new signing key and seal secret", nargs: 0,
			about: fmt.Sprintf(`Keys rotate adds a new JWT signing key and a new seal secret: the new ones
sign and seal from the next start of keycard serve, the old ones keep
verifying access tokens and opening sealed cookies. It keeps the newest %d
of each, so a rotation drops the oldest once there are %d: wait at least
the absolute session timeout between rotations if sealed sessions must
outlive %d of them.`, maxKeys, maxKeys, maxKeys-1),
			examples: "keycard keys rotate\nkeycard keys rotate --keys-file /etc/keycard/keys.json",
			new:      newKeys,
		},
		{
			name: "generate", summary: "create the key file if it is missing", nargs: 0,
			about:    "Keys generate creates the key file with fresh keys if it does not exist, and leaves an existing one alone. keycard serve does the same at its first start.",
			examples: "keycard keys generate\nkeycard keys generate --keys-file /etc/keycard/keys.json",
			new:      newKeys,
		},
		{
			name: "admin", summary: "make an admin API key and let serve accept it", nargs: 0,
			about: `Keys admin makes a new admin API key for the trusted-backend endpoints
(/v1/admin/...), prints it once on stdout, and adds its hash (never the key)
to the key file, creating the file if needed. Restart keycard serve to
accept it.`,
			examples: "keycard keys admin > admin.key\nkeycard keys admin --keys-file /etc/keycard/keys.json",
			new:      newKeys,
		},
	},
}

type keys struct {
	subcommand
	keysFile string
}

func newKeys(m *Main, fs *flag.FlagSet, op string) runner {
	k := &keys{}
	k.init(m, fs, op)
	keysFileFlag(fs, &k.keysFile)
	return k
}

func (k *keys) run(context.Context, []string) error {
	_, path, err := keysPath(k.store, k.keysFile)
	if err != nil {
		return err
	}
	if path == "" {
		return usagef("a memory: store keeps throwaway keys inside keycard serve; name a key file with --keys-file")
	}
	out, errOut := k.m.stdout, k.m.stderr
	switch k.op {
	case "generate":
		_, created, err := loadOrCreateKeyFile(path)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(out, "created %s\n", path)
		} else {
			fmt.Fprintf(out, "%s exists; left unchanged\n", path)
		}
		return nil
	case "admin":
		kf, _, err := loadOrCreateKeyFile(path)
		if err != nil {
			return err
		}
		key, hash, err := server.NewAdminKey()
		if err != nil {
			return err
		}
		kf.AdminKeyHashes = append(kf.AdminKeyHashes, hash)
		if err := writeKeyFile(path, kf, true); err != nil {
			return err
		}
		fmt.Fprintln(out, key)
		fmt.Fprintf(errOut, "This admin key is shown only once: store it now. Its hash %s is in %s; restart keycard serve to accept it.\n", short(hash), path)
		return nil
	}
	kf, err := readKeyFile(path)
	if errors.Is(err, errNoKeyFile) {
		return fmt.Errorf("no key file at %s: create one with `keycard keys generate` (or start keycard serve)", path)
	}
	if err != nil {
		return err
	}
	switch k.op {
	case "rotate":
		if err := kf.rotate(); err != nil {
			return err
		}
		if err := writeKeyFile(path, kf, true); err != nil {
			return err
		}
		fmt.Fprintf(out, "added signing key %s and a seal secret to %s (%d signing keys, %d seal secrets kept)\n",
			kf.signers[len(kf.signers)-1].KeyID(), path, len(kf.SigningKeys), len(kf.SealSecrets))
		fmt.Fprintln(errOut, "Copy the key file to every node and restart keycard serve there to sign with the new key.")
	case "list":
		return k.list(path, kf)
	}
	return nil
}

// short shortens a hash for display.
func short(hash string) string {
	if len(hash) > 19 {
		return hash[:19] + "…"
	}
	return hash
}

func (k *keys) list(path string, kf *keyFile) error {
	out := k.m.stdout
	fmt.Fprintf(out, "Key file: %s\n\nSigning keys (the last signs):\n", path)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for i, s := range kf.signers {
		mark := ""
		if i == len(kf.signers)-1 {
			mark = "signing"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.KeyID(), s.Algorithm(), kf.SigningKeys[i].CreatedAt.Format(time.RFC3339), mark)
	}
	tw.Flush()
	fmt.Fprint(out, "\nSeal secrets, by key ID (the last seals; used with serve --seal):\n")
	for i, secret := range kf.SealSecrets {
		ring, err := seal.NewKeyRing(secret)
		if err != nil {
			return err
		}
		mark := ""
		if i == len(kf.SealSecrets)-1 {
			mark = "  sealing"
		}
		fmt.Fprintf(out, "  %s%s\n", ring.IDs()[0], mark)
	}
	fmt.Fprintf(out, "\nAdmin keys: %d\n", len(kf.AdminKeyHashes))
	for _, h := range kf.AdminKeyHashes {
		fmt.Fprintf(out, "  %s\n", short(h))
	}
	return nil
}
