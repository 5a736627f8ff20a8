package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/keycard-go/keycard/server"
)

var usersCommand = &command{
	name:    "users",
	summary: "manage the local users of keycard serve",
	about: `Users manages the local users that sign in to keycard serve (POST /v1/login
and the demo site), in the store --store names; every node sharing the
store sees a change at once.`,
	sub: []*command{
		{
			name: "add", summary: "add a local user", args: "NAME", nargs: 1,
			about: `Users add adds the local user NAME. The password (at least 8 characters) is
read from stdin with --password-stdin; otherwise it is asked twice on the
terminal, without echo.`,
			examples: "keycard users add alice\nprintf '%s' \"$PASSWORD\" | keycard users add alice --password-stdin --store sqlite:/var/lib/keycard/keycard.db",
			new:      newUsers,
		},
		{
			name: "passwd", summary: "set a user's password and end their sessions", args: "NAME", nargs: 1,
			about: `Users passwd sets a new password for NAME and ends every session of the user
(a changed password must end what the old one opened). It reads the
password as users add does.`,
			examples: "keycard users passwd alice\nkeycard users passwd alice --password-stdin < newpass.txt",
			new:      newUsers,
		},
		{
			name: "disable", summary: "stop a user from signing in and end their sessions", args: "NAME", nargs: 1,
			about:    "Users disable stops NAME from signing in and ends every session of the user, on every node at once.",
			examples: "keycard users disable alice",
			new:      newUsers,
		},
		{
			name: "enable", summary: "let a disabled user sign in again", args: "NAME", nargs: 1,
			about:    "Users enable lets NAME sign in again.",
			examples: "keycard users enable alice",
			new:      newUsers,
		},
		{
			name: "list", summary: "list the local users", nargs: 0,
			about:    "Users list prints the local users: name, when they were added, and whether they are disabled.",
			examples: "keycard users list\nKEYCARD_STORE=sqlite:/var/lib/keycard/keycard.db keycard users list",
			new:      newUsers,
		},
	},
}

type users struct {
	subcommand
	passwordStdin bool
}

func newUsers(m *Main, fs *flag.FlagSet, op string) runner {
	u := &users{}
	u.init(m, fs, op)
	if op == "add" || op == "passwd" {
		fs.BoolVar(&u.passwordStdin, "password-stdin", false, "read the password from stdin (one line; a trailing newline is dropped)")
	}
	return u
}

func (u *users) run(ctx context.Context, args []string) error {
	su, err := parseStoreURL(u.store)
	if err != nil {
		return usageError{err}
	}
	if su.kind == storeMemory {
		return usagef("a memory: store lives only inside one keycard serve process: a user added here would be gone at once; name the server's store with --store")
	}
	var name, password string
	if len(args) > 0 {
		name = args[0]
		if err := server.ValidUserName(name); err != nil {
			return usageError{err}
		}
	}
	if u.op == "add" || u.op == "passwd" {
		if password, err = u.readPassword(); err != nil {
			return err
		}
	}
	store, closer, _, err := u.m.store(ctx, u.store, slog.New(slog.NewTextHandler(u.m.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer closer.Close()
	out := u.m.stdout
	switch u.op {
	case "add":
		if err := server.AddUser(ctx, store, name, password); err != nil {
			return err
		}
		fmt.Fprintf(out, "added user %q\n", name)
	case "passwd":
		n, err := server.SetPassword(ctx, store, name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "changed the password of %q; ended %s\n", name, sessions(n))
	case "disable":
		n, err := server.SetDisabled(ctx, store, name, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "disabled %q; ended %s\n", name, sessions(n))
	case "enable":
		if _, err := server.SetDisabled(ctx, store, name, false); err != nil {
			return err
		}
		fmt.Fprintf(out, "enabled %q\n", name)
	case "list":
		list, err := server.ListUsers(ctx, store)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tDISABLED")
		for _, x := range list {
			disabled := "no"
			if x.Disabled {
				disabled = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", x.Name, x.CreatedAt.UTC().Format(time.RFC3339), disabled)
		}
		return tw.Flush()
	}
	return nil
}

func sessions(n int) string {
	if n == 1 {
		return "1 session"
	}
	return fmt.Sprintf("%d sessions", n)
}

// readPassword reads the new password: from stdin with --password-stdin,
// else twice from the terminal without echo. It checks it with
// server.ValidPassword.
func (u *users) readPassword() (string, error) {
	var password string
	if u.passwordStdin {
		// Read a little more than the longest password, so that a longer
		// one is refused rather than cut.
		b, err := io.ReadAll(io.LimitReader(u.m.stdin, server.MaxPasswordLen+3))
		if err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if bytes.ContainsAny(b, "\r\n") {
			return "", errors.New("the password on stdin is more than one line")
		}
		password = string(b)
	} else {
		f, ok := u.m.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", usagef("stdin is not a terminal: pipe the password in with --password-stdin")
		}
		fd := int(f.Fd())
		ask := func(prompt string) (string, error) {
			fmt.Fprint(u.m.stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(u.m.stderr)
			return string(b), err
		}
		p1, err := ask("Password: ")
		if err != nil {
			return "", err
		}
		if err := server.ValidPassword(p1); err != nil {
			return "", err
		}
		p2, err := ask("Repeat the password: ")
		if err != nil {
			return "", err
		}
		if p1 != p2 {
			return "", errors.New("the passwords do not match")
		}
		password = p1
	}
	if err := server.ValidPassword(password); err != nil {
		return "", err
	}
	return password, nil
}
