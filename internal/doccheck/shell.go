package doccheck

import (
	"fmt"
	"path"
	"strings"
)

// Commands returns the command lines of a shell block: continuation lines
// (ending in a backslash) joined, comments and blank lines removed. In a
// console block only the lines after a "$ " prompt are commands (the
// others are output), without the prompt.
func (b Block) Commands() []string {
	var out []string
	var cont strings.Builder
	for _, line := range strings.Split(b.Text, "\n") {
		if b.Lang == "console" && cont.Len() == 0 {
			cmd, ok := strings.CutPrefix(strings.TrimLeft(line, " "), "$ ")
			if !ok {
				continue
			}
			line = cmd
		}
		if strings.HasSuffix(line, `\`) {
			cont.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cont.WriteString(line)
		cmd := strings.TrimSpace(stripComment(cont.String()))
		cont.Reset()
		if cmd != "" {
			out = append(out, cmd)
		}
	}
	return out
}

// stripComment removes a shell comment (a '#' that starts a word, outside
// quotes) from line.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case c == '\\':
			i++
		case quote == '"':
			if c == '"' {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// Words splits one command line into words as a POSIX shell does for a
// simple command, without expanding anything: blanks separate words,
// single quotes keep everything, double quotes keep everything but \", \\,
// \$ and \` (which lose the backslash), a backslash outside quotes keeps
// the next character, and a '#' that starts a word starts a comment. The
// operators ;, &, &&, | and || are words of their own. It fails on an
// unterminated quote.
func Words(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words, nil
		case c == ';' || c == '&' || c == '|':
			flush()
			op := string(c)
			if c != ';' && i+1 < len(line) && line[i+1] == c {
				op += string(c)
				i++
			}
			words = append(words, op)
		case c == '\\':
			inWord = true
			if i+1 < len(line) {
				i++
				w.WriteByte(line[i])
			}
		case c == '\'':
			inWord = true
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %s", line)
			}
			w.WriteString(line[i+1 : i+1+end])
			i += 1 + end
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && strings.IndexByte("\"\\$`", line[j+1]) >= 0 {
					j++
				}
				w.WriteByte(line[j])
			}
			if j == len(line) {
				return nil, fmt.Errorf(`unterminated " in %s`, line)
			}
			i = j
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	flush()
	return words, nil
}

// StartsProcess reports whether the block starts a process that keeps
// running (a server, a watcher, a stream), and returns the first command
// line that does. Recognised: a command sent to the background (&);
// valksor-sse with no command, serve, dev or tail; go run (but of the
// project's ./scripts/, which run and end); python with a
// script or -m http.server; php -S and bin/console; node, npm start and npm
// run, npx; redis-server; docker run and docker compose up; systemctl
// start, restart and enable --now; curl -N (a stream).
func StartsProcess(b Block) (string, bool) {
	if !b.IsShell() {
		return "", false
	}
	for _, line := range b.Commands() {
		words, err := Words(line)
		if err != nil {
			continue
		}
		var cmd []string
		for _, w := range append(words, ";") {
			switch w {
			case "&":
				if len(cmd) > 0 {
					return line, true
				}
			case ";", "&&", "||", "|":
				if startsProcess(cmd) {
					return line, true
				}
			default:
				cmd = append(cmd, w)
				continue
			}
			cmd = nil
		}
	}
	return "", false
}

// startsProcess reports whether the simple command starts a process that
// keeps running.
func startsProcess(cmd []string) bool {
	// Leading variable assignments and wrappers.
	for len(cmd) > 0 {
		if w := cmd[0]; strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "=") ||
			w == "sudo" || w == "env" || w == "exec" || w == "nohup" || w == "time" {
			cmd = cmd[1:]
			continue
		}
		break
	}
	if len(cmd) == 0 {
		return false
	}
	arg := func(i int) string {
		if i < len(cmd) {
			return cmd[i]
		}
		return ""
	}
	has := func(w string) bool {
		for _, c := range cmd[1:] {
			if c == w {
				return true
			}
		}
		return false
	}
	switch name := path.Base(cmd[0]); name {
	case "valksor-sse", "valksor-sse.exe":
		return valksorStarts(cmd[1:])
	case "go":
		if arg(1) == "run" {
			switch {
			case arg(2) == "./cmd/valksor-sse":
				return valksorStarts(cmd[3:])
			case strings.HasPrefix(arg(2), "./scripts/"):
				return false // the project's tools run and end
			}
			return true
		}
	case "python", "python3":
		return has("http.server") || strings.HasSuffix(arg(1), ".py")
	case "php":
		return has("-S") || strings.Contains(arg(1), "bin/console")
	case "symfony":
		return arg(1) == "serve" || arg(1) == "server:start"
	case "node", "npx", "redis-server", "nginx", "caddy":
		return true
	case "npm", "pnpm", "yarn":
		return arg(1) == "start" || arg(1) == "run" || arg(1) == "dev"
	case "docker":
		return arg(1) == "run" || (arg(1) == "compose" && has("up"))
	case "systemctl":
		return arg(1) == "start" || arg(1) == "restart" || (arg(1) == "enable" && has("--now"))
	case "curl":
		return has("-N") || has("--no-buffer")
	}
	return false
}

// valksorStarts reports whether valksor-sse with args keeps running: no
// command (serve is the default), serve, dev or tail, and not asking for
// help or the version.
func valksorStarts(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "--help", "-help", "--version", "-v", "-version":
			return false
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a == "serve" || a == "dev" || a == "tail"
		}
		if a == "--" {
			break
		}
		if !strings.Contains(a, "=") && flagTakesValue(a) {
			i++ // its value
		}
	}
	return true
}

// flagTakesValue reports whether the flag takes a value in the next word.
func flagTakesValue(f string) bool {
	switch strings.TrimLeft(f, "-") {
	case "debug", "kill-existing", "poll", "tls-self-signed", "open", "json", "all":
		return false
	}
	return true
}
