package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

const exitCodesHelp = `Exit codes:
  0  success
  1  error (the store, the key file, the network, ...)
  2  usage error: unknown command, bad flag, argument or environment variable
`

const envHelp = `Every flag can also be set by an environment variable KEYCARD_<NAME>:
--store is KEYCARD_STORE, --admin-key is KEYCARD_ADMIN_KEY (repeatable
flags take a comma-separated list there). A flag on the command line beats
its variable.
`

// printTopHelp writes keycard's help: the commands, the environment and
// the exit codes.
func (m *Main) printTopHelp(w io.Writer) {
	fmt.Fprint(w, `Keycard: secure-by-default HTTP session management.

Usage:
  keycard COMMAND [SUBCOMMAND] [flags] [arguments]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands {
		if c.sub == nil {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
			continue
		}
		for _, s := range c.sub {
			fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, s.name, s.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n%s\nRun `keycard COMMAND --help` for the flags and examples of a command.\n", envHelp, exitCodesHelp)
}

// printHelp writes the help of cmd, whose names are path.
func (m *Main) printHelp(w io.Writer, cmd *command, path []string) {
	name := "keycard " + strings.Join(path, " ")
	if cmd.sub != nil {
		fmt.Fprintf(w, "Usage:\n  %s SUBCOMMAND [flags]\n\n%s\n\nSubcommands:\n", name, cmd.about)
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, s := range cmd.sub {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nRun `%s SUBCOMMAND --help` for the flags and examples of a subcommand.\n\n%s", name, exitCodesHelp)
		return
	}
	usage := name
	if cmd.args != "" {
		usage += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage:\n  %s [flags]\n\n%s\n", usage, cmd.about)
	if cmd.new != nil {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cmd.new(m, fs, cmd.name)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nFlags:\n")
			printFlags(w, fs)
			fmt.Fprintf(w, "\n%s", envHelp)
		}
	}
	if cmd.examples != "" {
		fmt.Fprint(w, "\nExamples:\n")
		for line := range strings.SplitSeq(cmd.examples, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintf(w, "\n%s", exitCodesHelp)
}
