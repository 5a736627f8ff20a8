package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// envPrefix starts the environment variable of every flag: --admin-key is
// also KEYCARD_ADMIN_KEY. A flag on the command line beats its variable.
const envPrefix = "KEYCARD_"

// envName returns the environment variable of the flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// listFlag is a repeatable flag. Its environment variable holds the values
// comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// setList sets the values of a comma-separated list (the environment
// form), skipping empty items.
func (l *listFlag) setList(v string) {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// parseArgs parses args into fs, allowing flags after positional arguments
// (`keycard users add NAME --password-stdin`); "--" ends the flags. Then
// every flag not given on the command line takes the value of its
// environment variable, if set. It returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{flagError(err)}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// fs.Parse stops at the first positional argument, or after "--".
		if len(args)-len(rest) > 0 && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		if l, ok := f.Value.(*listFlag); ok {
			l.setList(v)
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = usagef("%s: invalid value for --%s", envName(f.Name), f.Name)
		}
	})
	return pos, err
}

// printFlags writes fs's flags, each with its environment variable.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		usage = strings.ReplaceAll(usage, "\n", "\n      ")
		fmt.Fprintf(w, "      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, " [$%s]\n", envName(f.Name))
	})
}

// flagError rewrites the flag package's errors with the double dash this
// command's help uses.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Errorf("unknown flag --%s", strings.TrimPrefix(name, "-"))
	}
	return errors.New(strings.Replace(msg, "flag -", "flag --", 1))
}
