package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildVersion is set at link time: -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion string

// version returns keycard's version: the link-time one, else the module
// version the binary was built from (go install …@v1.2.3), else "dev".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

var versionCommand = &command{
	name:     "version",
	summary:  "print keycard's version",
	about:    "Version prints keycard's version and the Go release it was built with.",
	examples: "keycard version",
	new: func(m *Main, _ *flag.FlagSet, _ string) runner {
		return runFunc(func(context.Context, []string) error {
			fmt.Fprintf(m.stdout, "keycard %s (%s)\n", version(), runtime.Version())
			return nil
		})
	},
}

// runFunc is a runner of a function.
type runFunc func(ctx context.Context, args []string) error

func (f runFunc) run(ctx context.Context, args []string) error { return f(ctx, args) }
