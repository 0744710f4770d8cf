package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...". When it
// is not, versionFrom reads the version from the build information.
var version = "dev"

// commit is set at build time with -ldflags "-X main.commit=...". When it
// is not, commitFrom reads the revision from the build information.
var commit = ""

// versionFrom is the version printed by `valksor-sse version`: the one set
// with -ldflags, else the main module's version from the build information
// (v1.2.3 for go install ...@v1.2.3, a pseudo-version for a build in a
// clone), else the VCS revision stamped by go build, else "dev".
func versionFrom(ldflags string, bi *debug.BuildInfo, ok bool) string {
	if ldflags != "" && ldflags != "dev" {
		return ldflags
	}
	if !ok || bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		return "dev (revision " + rev + ", modified)"
	}
	return "dev (revision " + rev + ")"
}

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitNotRunning = 3
)

// Main is the program: its streams and environment are fields so that tests
// run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
	Env            []string
	// Dir is the working directory (relative paths in the config are
	// resolved against it); "" means the process's.
	Dir string
	// ready, when set, receives the listening address once serve is up.
	ready func(addr string)
}

// usageError is an error in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func (m *Main) getenv(key string) string {
	for _, kv := range m.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

const usage = `valksor-sse: a Server-Sent Events hub for live updates and browser reloads.

Usage:
  valksor-sse [serve] [flags]        run the server (the default); --watch DIR reloads browsers on change
  valksor-sse publish [TYPE] [flags] publish an event to a running server
  valksor-sse tail [flags]           follow the stream in the terminal (--type, --topic, --json)
  valksor-sse status [flags]         tell whether the server runs, and how
  valksor-sse stop [flags]           stop the server named in the pid file, else the one on the port
  valksor-sse dev --proxy URL [--cmd CMD] [--watch DIR]
                                     live reload in front of any app, restarting it on change
  valksor-sse assets list|compile    show or write the digested assets and import map
  valksor-sse token --publish P --subscribe P [--ttl 1h]
                                     mint a JWT with the configured auth keys
  valksor-sse bench [flags]          measure a server (--compare-floor: against the machine's floor)
  valksor-sse version                print the version

Common flags:
  --config FILE   config file (default: valksor.yaml, then config/packages/valksor.yaml)
  --host HOST     server host (default localhost)
  --port PORT     server port (default 8080)

Run "valksor-sse COMMAND -h" for the flags of one command.
`

// Run runs the command line args and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if wantsHelp(args) {
		// valksor-sse --help: the commands, then the flags of serve, the
		// default command, all on stdout like valksor-sse help.
		fmt.Fprint(m.Stdout, usage+"\n")
		h := *m
		h.Stderr = m.Stdout
		return m.exit(h.serve(ctx, []string{"-h"})) // only the help, whatever else was given
	}
	var err error
	switch cmd {
	case "serve":
		err = m.serve(ctx, args)
	case "publish":
		err = m.publish(ctx, args)
	case "status":
		err = m.status(ctx, args)
	case "stop":
		err = m.stop(ctx, args)
	case "assets":
		err = m.assets(ctx, args)
	case "dev":
		err = m.dev(ctx, args)
	case "token":
		err = m.token(ctx, args)
	case "tail":
		err = m.tail(ctx, args)
	case "bench":
		err = m.bench(ctx, args)
	case floorCommand:
		err = m.floor(ctx)
	case "version":
		err = m.version(args)
	case "help":
		fmt.Fprint(m.Stdout, usage)
	default:
		err = usageError{fmt.Sprintf("unknown command %q; run valksor-sse help", cmd)}
	}
	return m.exit(err)
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

// commitFrom is the commit printed by `valksor-sse version`: the one set
// with -ldflags, else the VCS revision stamped by go build (with
// "(modified)" for a build from a changed checkout), else "unknown".
func commitFrom(ldflags string, bi *debug.BuildInfo, ok bool) string {
	if ldflags != "" {
		return ldflags
	}
	rev, modified := "unknown", ""
	if ok && bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	return rev + modified
}

// version prints the version, the commit, the Go version and the platform.
func (m *Main) version(args []string) error {
	fs := m.newFlagSet("version", "")
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, "Usage: valksor-sse version\n\nPrints the version (the release, or the revision of a development build),\nthe commit it was built from, the Go version and the platform.\n")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("version takes no arguments, got %q", fs.Args())}
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprintf(m.Stdout, "valksor-sse %s\ncommit:   %s\ngo:       %s\nplatform: %s/%s\n",
		versionFrom(version, bi, ok), commitFrom(commit, bi, ok), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// exit prints err and maps it to an exit code.
func (m *Main) exit(err error) int {
	var code exitCode
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(m.Stderr, "valksor-sse:", err)
		return exitUsage
	case errors.As(err, &code):
		if code.msg != "" {
			fmt.Fprintln(m.Stderr, "valksor-sse:", code.msg)
		}
		return code.code
	}
	fmt.Fprintln(m.Stderr, "valksor-sse:", err)
	return exitError
}

// exitCode carries a specific exit code and message.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

// commonFlags are the flags every command that finds the server shares.
type commonFlags struct {
	config string
	host   string
	port   string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "config `file` (default valksor.yaml, then config/packages/valksor.yaml)")
	fs.StringVar(&c.host, "host", "", "server `host` (overrides config and VALKSOR_SSE_HOST)")
	fs.StringVar(&c.port, "port", "", "server `port` (overrides config and VALKSOR_SSE_PORT; 0 picks a free port)")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func (m *Main) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: valksor-sse %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitCode{code: exitUsage}
	}
	return nil
}

// load reads the configuration: file, then environment, then the flags.
func (m *Main) load(c commonFlags) (config.Config, error) {
	path := c.config
	if path == "" {
		path = m.getenv("VALKSOR_SSE_CONFIG")
	}
	dir := m.Dir
	if dir == "" {
		dir = "."
	}
	cfg, err := config.Load(dir, path, m.Env)
	if err != nil {
		return cfg, err
	}
	if c.host != "" {
		cfg.Host = c.host
	}
	if c.port != "" {
		p, err := strconv.Atoi(c.port)
		if err != nil || p < 0 || p > 65535 {
			return cfg, usageError{fmt.Sprintf("--port %q: want a number between 0 and 65535", c.port)}
		}
		cfg.Port = p
	}
	return cfg, cfg.Validate()
}

// path resolves a config path against the working directory. An absolute
// path (C:\var\run\x.pid or C:/var/run/x.pid on Windows) is kept as it is.
func (m *Main) path(p string) string {
	if m.Dir == "" || p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(m.Dir, p)
}
