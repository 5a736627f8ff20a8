package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/keycard-go/keycard/storage"
)

// Exit codes, as `keycard help` documents them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// A command is one entry of the dispatch table: a leaf that runs (serve,
// users add) or a group of subcommands (users, keys). New commands (the
// client's login, whoami, …) are one more entry.
type command struct {
	name     string
	summary  string // one line, for the list of commands
	args     string // the positional arguments, for the usage line ("NAME")
	nargs    int    // how many positional arguments it takes
	about    string // the description of its help
	examples string // the examples of its help, one command a line

	sub []*command // a group's subcommands

	// new returns the runner of a leaf, defining its flags in fs; name is
	// the command's name.
	new func(m *Main, fs *flag.FlagSet, name string) runner
}

// A runner runs one command line. A runner that keeps something open when
// Run returns also implements io.Closer; serve's implements serving.
type runner interface {
	run(ctx context.Context, args []string) error
}

// serving is a runner that goes on serving after Run returns, until Close.
type serving interface {
	runner
	io.Closer
	addr() net.Addr
	url() string
	done() <-chan error // receives Serve's error if it stops on its own
}

// subcommand is the common part of the runners of a group's subcommands
// (users, keys): the program, which subcommand, and --store.
type subcommand struct {
	m     *Main
	op    string
	store string
}

// init sets up c and defines --store in fs.
func (c *subcommand) init(m *Main, fs *flag.FlagSet, op string) {
	c.m, c.op = m, op
	storeFlag(fs, &c.store, defaultStore)
}

// commands is the dispatch table.
var commands []*command

func init() {
	commands = []*command{
		serveCommand,
		demoCommand,
		usersCommand,
		keysCommand,
		versionCommand,
		{name: "help", summary: "show the help of keycard or of a command", args: "[COMMAND...]", nargs: -1,
			about:    "Help shows the help of keycard, or of the command named.",
			examples: "keycard help\nkeycard help users add",
		},
	}
}

// Main is the keycard program, runnable in-process by tests: NewMain,
// ParseFlags, Run, and for serve Addr, URL and Close.
type Main struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	cmd    *command // the command ParseFlags found
	path   []string // its names, "users", "add"
	fs     *flag.FlagSet
	runner runner
	args   []string // its positional arguments

	// openStore opens a store; tests replace it to share one memory store
	// between commands.
	openStore func(ctx context.Context, u storeURL, log *slog.Logger) (storage.Store, io.Closer, error)
	// hooks for the tests of serve (serve.go).
	hooks serveHooks
}

// NewMain returns the program with its standard streams and environment.
func NewMain(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, openStore: openStore}
}

// errHelp is what ParseFlags returns when it has printed help (exit 0).
var errHelp = errors.New("help requested")

// ParseFlags finds the command args names and parses its flags and
// environment variables. Its errors are usage errors (exit 2) but for
// errHelp: --help, -h and `keycard help` print help to stdout.
func (m *Main) ParseFlags(args []string) error {
	if len(args) == 0 {
		m.printTopHelp(m.stderr)
		return usagef("no command given")
	}
	list, path := commands, []string(nil)
	var cmd *command
	for {
		if len(args) == 0 {
			// A group without a subcommand: show its help.
			m.printHelp(m.stderr, cmd, path)
			return usagef("%s needs a subcommand", strings.Join(path, " "))
		}
		a := args[0]
		if cmd == nil && (a == "-h" || a == "-help" || a == "--help") {
			m.printTopHelp(m.stdout)
			return errHelp
		}
		if cmd == nil && (a == "-version" || a == "--version") {
			a = "version"
		}
		next := find(list, a)
		if next == nil {
			if cmd != nil && (a == "-h" || a == "-help" || a == "--help") {
				m.printHelp(m.stdout, cmd, path)
				return errHelp
			}
			where := "keycard"
			if cmd != nil {
				where = "keycard " + strings.Join(path, " ")
			}
			return usagef("unknown command %q for %s; run `%s help`", a, where, where)
		}
		cmd, path, args = next, append(path, a), args[1:]
		if cmd.sub == nil {
			break
		}
		list = cmd.sub
	}
	if cmd.name == "help" {
		return m.helpCommand(args)
	}
	m.cmd, m.path = cmd, path
	m.fs = flag.NewFlagSet("keycard "+strings.Join(path, " "), flag.ContinueOnError)
	m.fs.SetOutput(io.Discard)
	m.runner = cmd.new(m, m.fs, cmd.name)
	pos, err := parseArgs(m.fs, args, m.getenv)
	if errors.Is(err, flag.ErrHelp) {
		m.printHelp(m.stdout, cmd, path)
		return errHelp
	}
	if err != nil {
		return err
	}
	if cmd.nargs >= 0 && len(pos) != cmd.nargs {
		if cmd.nargs == 0 {
			return usagef("%s takes no arguments", m.fs.Name())
		}
		return usagef("usage: %s %s [flags]", m.fs.Name(), cmd.args)
	}
	m.args = pos
	return nil
}

func find(list []*command, name string) *command {
	for _, c := range list {
		if c.name == name {
			return c
		}
	}
	return nil
}

// helpCommand prints the help of the command args names.
func (m *Main) helpCommand(args []string) error {
	if len(args) == 0 {
		m.printTopHelp(m.stdout)
		return errHelp
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		args = []string{"help"}
	}
	list, path := commands, []string(nil)
	var cmd *command
	for _, a := range args {
		next := find(list, a)
		if next == nil {
			return usagef("keycard help: unknown command %q", strings.Join(append(path, a), " "))
		}
		cmd, path, list = next, append(path, a), next.sub
	}
	m.printHelp(m.stdout, cmd, path)
	return errHelp
}

// Run runs the command ParseFlags found. For serve and demo it returns
// once the server listens; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	if m.runner == nil {
		return errors.New("keycard: Run before ParseFlags")
	}
	return m.runner.run(ctx, m.args)
}

// Close stops what Run left running (a server: graceful shutdown).
func (m *Main) Close() error {
	if c, ok := m.runner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Addr returns the address serve listens on, or nil.
func (m *Main) Addr() net.Addr {
	if s, ok := m.runner.(serving); ok {
		return s.addr()
	}
	return nil
}

// URL returns the base URL serve listens on ("http://127.0.0.1:8080"), or "".
func (m *Main) URL() string {
	if s, ok := m.runner.(serving); ok {
		return s.url()
	}
	return ""
}

// Exec runs the command line args to its end and returns the exit code:
// 0 done, 1 failed, 2 bad command line. A server runs until ctx is done
// (SIGINT, SIGTERM); then stop is called, so that a second signal kills the
// process at once, and the server shuts down gracefully.
func (m *Main) Exec(ctx context.Context, args []string, stop func()) int {
	defer stop()
	err := m.ParseFlags(args)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		return m.fail(err)
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return m.fail(err)
	}
	if s, ok := m.runner.(serving); ok {
		select {
		case <-ctx.Done():
		case err = <-s.done():
		}
		stop()
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m.fail(err)
		}
		return exitOK
	}
	if err := m.Close(); err != nil {
		return m.fail(err)
	}
	return exitOK
}

// fail prints err and returns its exit code.
func (m *Main) fail(err error) int {
	fmt.Fprintf(m.stderr, "keycard: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		if m.fs != nil {
			fmt.Fprintf(m.stderr, "Run `%s --help` for usage.\n", m.fs.Name())
		}
		return exitUsage
	}
	return exitError
}

// store parses and opens the store URL u.
func (m *Main) store(ctx context.Context, raw string, log *slog.Logger) (storage.Store, io.Closer, storeURL, error) {
	u, err := parseStoreURL(raw)
	if err != nil {
		return nil, nil, u, usageError{err}
	}
	s, c, err := m.openStore(ctx, u, log)
	if err != nil {
		return nil, nil, u, fmt.Errorf("opening the store (%s): %w", u, err)
	}
	return s, c, u, nil
}
