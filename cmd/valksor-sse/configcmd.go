package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// configAbout is the help text of config.
const configAbout = `keys lists every configuration key: its name under valksor: sse: in the YAML file,
its environment variable, its type, its default and what it does.`

// configCmd prints the configuration reference.
func (m *Main) configCmd(_ context.Context, args []string) error {
	var sub string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := m.newFlagSet(strings.TrimSpace("config "+sub), "config keys", configAbout)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if sub != "keys" {
		return usageError{"config needs a command: valksor-sse config keys"}
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tENVIRONMENT\tTYPE\tDEFAULT\tMEANING")
	for _, k := range config.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Env, k.Type, k.Default, k.Doc)
	}
	return tw.Flush()
}
