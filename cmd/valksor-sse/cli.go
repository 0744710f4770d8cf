package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/suggest"
)

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
	// onFlags, when set, receives the flags of a command asked for its
	// help (the completion scripts list them).
	onFlags func(*flag.FlagSet)
}

// command is one subcommand.
type command struct {
	name string
	// usage is the line of the command list; "" hides the command.
	usage string
	run   func(m *Main, ctx context.Context, args []string) error
}

// commands returns the subcommands, in the order help lists them.
func commands() []command {
	return []command{
		{"serve", "serve [flags]           run the server (the default); --watch DIR reloads browsers on change", (*Main).serve},
		{"publish", "publish [TYPE] [flags]  publish an event to a running server", (*Main).publish},
		{"tail", "tail [flags]            follow the stream in the terminal (--type, --topic, --json)", (*Main).tail},
		{"status", "status [flags]          tell whether the server runs, and how", (*Main).status},
		{"stop", "stop [flags]            stop the server named in the pid file, else the one on the port", (*Main).stop},
		{"dev", "dev --proxy URL         live reload in front of any app (--cmd CMD restarts it on change)", (*Main).dev},
		{"assets", "assets list|compile     show or write the digested assets and import map", (*Main).assets},
		{"token", "token [flags]           mint a JWT with the configured auth keys", (*Main).token},
		{"config", "config keys             list every configuration key and environment variable", (*Main).configCmd},
		{"bench", "bench [flags]           measure a server (--compare-floor: against the machine's floor)", (*Main).bench},
		{"completion", "completion SHELL        print the completion script of bash, zsh, fish or powershell", (*Main).completion},
		{"version", "version                 print the version (also --version, -v)", (*Main).version},
		{"help", "help [COMMAND]          print this help, or a command's", (*Main).help},
		{floorCommand, "", (*Main).floor},
	}
}

// usage is the top-level help.
func usage() string {
	var b strings.Builder
	b.WriteString("valksor-sse: a Server-Sent Events hub for live updates and browser reloads.\n\nUsage:\n")
	for _, c := range commands() {
		if c.usage != "" {
			b.WriteString("  valksor-sse " + c.usage + "\n")
		}
	}
	b.WriteString(`
Common flags:
  --config FILE   config file (default: valksor.yaml, then config/packages/valksor.yaml)
  --host HOST     server host (default localhost)
  --port PORT     server port (default 8080)

Flags go before or after arguments. Run "valksor-sse help COMMAND" for the flags of one command.
`)
	return b.String()
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs the command line args and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		switch {
		case len(args) == 1 && (args[0] == "--version" || args[0] == "-v" || args[0] == "-version"):
			return m.exit(m.version(ctx, nil))
		case wantsHelp(args):
			// The commands, then the flags of serve, the default command.
			fmt.Fprint(m.Stdout, usage()+"\n")
			return m.exit(m.serve(ctx, []string{"--help"}))
		}
		return m.exit(m.serve(ctx, args))
	}
	c, ok := lookup(args[0])
	if !ok {
		return m.exit(unknownCommand(args[0]))
	}
	return m.exit(c.run(m, ctx, args[1:]))
}

// unknownCommand is the error for a command that does not exist.
func unknownCommand(name string) error {
	var names []string
	for _, c := range commands() {
		if c.usage != "" {
			names = append(names, c.name)
		}
	}
	if s := suggest.Closest(name, names); s != "" {
		return usageError{fmt.Sprintf("unknown command %q (did you mean %q?); run valksor-sse help", name, s)}
	}
	return usageError{fmt.Sprintf("unknown command %q; run valksor-sse help", name)}
}

// help prints the top-level help, or the help of the command named.
func (m *Main) help(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stdout, usage())
		return nil
	}
	c, ok := lookup(args[0])
	if !ok || c.usage == "" {
		return unknownCommand(args[0])
	}
	if c.name == "help" {
		fmt.Fprint(m.Stdout, usage())
		return nil
	}
	return c.run(m, ctx, append(args[1:], "--help"))
}

// usageError is an error in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode carries a specific exit code and message.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

// exit prints err and maps it to an exit code.
func (m *Main) exit(err error) int {
	var code exitCode
	var ue usageError
	switch {
	case err == nil, isHelp(err):
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

func (m *Main) getenv(key string) string {
	for _, kv := range m.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// configFlags are the flags that choose the config and the server: every
// command that reads the config has --config; those that run or reach a
// server have --host and --port too.
type configFlags struct {
	config string
	host   string
	port   string
	// warnUnknownEnv makes an unknown VALKSOR_SSE_* variable a warning,
	// for the commands that do not run a server (config.LoadWarn).
	warnUnknownEnv bool
}

// Roles of --host and --port.
const (
	roleConfig = iota // --config alone (token, assets)
	roleServer        // the server's own address (serve)
	roleClient        // the address of a running server (publish, status...)
)

func (c *configFlags) register(fs *flagSet, role int) {
	fs.StringVar(&c.config, "config", "", "config `file` (default valksor.yaml, then config/packages/valksor.yaml)")
	switch role {
	case roleServer:
		fs.StringVar(&c.host, "host", "", "`host` to listen on (overrides config and VALKSOR_SSE_HOST; default localhost)")
		fs.StringVar(&c.port, "port", "", "`port` to listen on (overrides config and VALKSOR_SSE_PORT; default 8080; 0 picks a free port)")
	case roleClient:
		c.warnUnknownEnv = true
		fs.StringVar(&c.host, "host", "", "`host` of the server (default: the config's, localhost)")
		fs.StringVar(&c.port, "port", "", "`port` of the server (default: the config's, 8080)")
	}
}

// load reads the configuration: file, then environment, then the flags.
func (m *Main) load(c configFlags) (config.Config, error) {
	path := c.config
	if path == "" {
		path = m.getenv(config.EnvConfig)
	}
	dir := m.Dir
	if dir == "" {
		dir = "."
	}
	var cfg config.Config
	var err error
	if c.warnUnknownEnv {
		cfg, err = config.LoadWarn(dir, path, m.Env, func(msg string) { fmt.Fprintln(m.Stderr, "valksor-sse: warning:", msg) })
	} else {
		cfg, err = config.Load(dir, path, m.Env)
	}
	if err != nil {
		return cfg, err
	}
	if c.host != "" {
		cfg.Server.Host = c.host
	}
	if c.port != "" {
		p, err := strconv.Atoi(c.port)
		if err != nil || p < 0 || p > 65535 {
			return cfg, usageError{fmt.Sprintf("--port %q: want a number between 0 and 65535", c.port)}
		}
		cfg.Server.Port = p
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
