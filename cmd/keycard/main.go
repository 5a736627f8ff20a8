// Command keycard is the Keycard server and its administration tool:
// `keycard serve` runs the HTTP API, `keycard users` and `keycard keys`
// manage its local users and secrets. Run `keycard help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	os.Exit(m.Exec(ctx, os.Args[1:], stop))
}
