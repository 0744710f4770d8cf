package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/valksor/go-sse/internal/suggest"
)

// flagSet is the flags of one command: the standard library's flag
// package, shown with double dashes, parsed with flags before or after the
// arguments, and with a suggestion for a mistyped flag. -h and --help print
// the command's help to stdout. Single-dash long flags (-port) still work.
type flagSet struct {
	*flag.FlagSet
	m *Main
	// name is the command as typed after valksor-sse ("assets compile").
	name string
	// synopsis is the usage line after valksor-sse, and about the text
	// printed below it.
	synopsis, about string
	// positional holds the arguments parse found among the flags.
	positional []string
}

// arguments returns the arguments parse found, flags removed.
func (fs *flagSet) arguments() []string { return fs.positional }

// newFlagSet returns the flags of the command name; synopsis is the usage
// line after "valksor-sse", and about the text below it (may be "").
func (m *Main) newFlagSet(name, synopsis, about string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), m: m, name: name, synopsis: synopsis, about: about}
	fs.SetOutput(io.Discard) // errors are returned, help is printed by printHelp
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// errHelp is returned by parse after printing the help: exit code 0.
var errHelp = flag.ErrHelp

// parse parses args, flags and arguments in any order ("--" ends the
// flags), and checks that at most maxArgs arguments remain (-1: any
// number). It prints the help and returns errHelp for -h or --help.
func (fs *flagSet) parse(args []string, maxArgs int) error {
	if wantsHelp(args) {
		if fs.m.onFlags != nil {
			fs.m.onFlags(fs.FlagSet)
		}
		fs.printHelp(fs.m.Stdout)
		return errHelp
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return fs.flagError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	fs.positional = positional
	if maxArgs >= 0 && len(positional) > maxArgs {
		if maxArgs == 0 {
			return usageError{fmt.Sprintf("%s takes no arguments, got %q", fs.name, positional)}
		}
		return usageError{fmt.Sprintf("%s takes at most %d argument(s), got %q", fs.name, maxArgs, positional)}
	}
	return nil
}

// wantsHelp reports whether args ask for help (-h, -help or --help) before
// any "--" that ends the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// notDefined matches the flag package's error for an unknown flag.
var notDefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)

// dashFlag matches a flag name in the flag package's other errors.
var dashFlag = regexp.MustCompile(`flag: -(\w)`)

// flagError turns an error of the flag package into a usage error that
// names flags with two dashes and suggests the flag meant.
func (fs *flagSet) flagError(err error) error {
	hint := fmt.Sprintf("; see valksor-sse %s --help", fs.name)
	if m := notDefined.FindStringSubmatch(err.Error()); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if s := suggest.Closest(m[1], names); s != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", s)
		}
		return usageError{fmt.Sprintf("%s: unknown flag --%s%s", fs.name, m[1], hint)}
	}
	return usageError{fmt.Sprintf("%s: %s%s", fs.name, dashFlag.ReplaceAllString(err.Error(), "flag: --$1"), hint)}
}

// printHelp writes the command's help: usage, text and flags.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: valksor-sse %s\n", fs.synopsis)
	if fs.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(fs.about, "\n"))
	}
	fmt.Fprint(w, "\nFlags:\n")
	type line struct{ left, usage string }
	lines := []line{}
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if value != "" {
			left += " " + strings.ToUpper(value)
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		lines = append(lines, line{left, usage})
		width = max(width, len(left))
	})
	lines = append(lines, line{"-h, --help", "print this help"})
	width = min(max(width, len("-h, --help")), 24)
	for _, l := range lines {
		if len(l.left) > width {
			fmt.Fprintf(w, "  %s\n  %*s  %s\n", l.left, width, "", l.usage)
			continue
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.left, l.usage)
	}
}

// isHelp reports whether err is the help having been printed.
func isHelp(err error) bool { return errors.Is(err, errHelp) }
