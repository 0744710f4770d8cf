package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
)

// completion prints the completion script of a shell. The scripts are
// static: they complete the commands and each command's flags, which
// they carry in themselves, and file names elsewhere.
func (m *Main) completion(_ context.Context, args []string) error {
	fs := m.newFlagSet("completion", "completion bash|zsh|fish|powershell", `Prints the shell completion script of valksor-sse: its commands and flags.

  bash:        source <(valksor-sse completion bash)      (in ~/.bashrc)
  zsh:         source <(valksor-sse completion zsh)       (in ~/.zshrc)
  fish:        valksor-sse completion fish > ~/.config/fish/completions/valksor-sse.fish
  powershell:  valksor-sse completion powershell | Out-String | Invoke-Expression   (in $PROFILE)`)
	if err := fs.parse(args, 1); err != nil {
		return err
	}
	shells := []string{"bash", "zsh", "fish", "powershell"}
	a := fs.arguments()
	if len(a) == 0 || !slices.Contains(shells, a[0]) {
		return usageError{fmt.Sprintf("completion needs a shell: %s; e.g. source <(valksor-sse completion bash)", strings.Join(shells, ", "))}
	}
	cmds := m.commandFlags()
	switch a[0] {
	case "bash":
		fmt.Fprint(m.Stdout, bashCompletion(cmds))
	case "zsh":
		fmt.Fprint(m.Stdout, "#compdef valksor-sse\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion(cmds))
	case "fish":
		fmt.Fprint(m.Stdout, fishCompletion(cmds))
	case "powershell":
		fmt.Fprint(m.Stdout, powershellCompletion(cmds))
	}
	return nil
}

// commandFlag is a command and its flags, for the completion scripts.
type commandFlag struct {
	name  string
	flags []string
}

// commandFlags returns every listed command with its flags, found by
// asking each command for its help with a flag set that records them.
func (m *Main) commandFlags() []commandFlag {
	var out []commandFlag
	for _, c := range commands() {
		if c.usage == "" {
			continue
		}
		rec := &Main{Stdout: discard{}, Stderr: discard{}, Env: m.Env, Dir: m.Dir}
		var flags []string
		rec.onFlags = func(fs *flag.FlagSet) {
			fs.VisitAll(func(f *flag.Flag) { flags = append(flags, "--"+f.Name) })
		}
		_ = c.run(rec, context.Background(), []string{"--help"})
		out = append(out, commandFlag{c.name, append(flags, "--help")})
	}
	return out
}

// discard is an io.Writer that keeps nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func bashCompletion(cmds []commandFlag) string {
	var b strings.Builder
	b.WriteString("# bash completion for valksor-sse\n_valksor_sse() {\n")
	b.WriteString("    local cur=${COMP_WORDS[COMP_CWORD]} cmd=serve i\n")
	b.WriteString("    for ((i = 1; i < COMP_CWORD; i++)); do\n        case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n    done\n")
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	b.WriteString("    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then\n")
	fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return\n    fi\n", strings.Join(names, " "))
	b.WriteString("    local flags\n    case $cmd in\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s) flags=%q ;;\n", c.name, strings.Join(c.flags, " "))
	}
	b.WriteString("    esac\n    if [[ $cur == -* ]]; then\n        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n    else\n        COMPREPLY=($(compgen -f -- \"$cur\"))\n    fi\n}\n")
	b.WriteString("complete -o filenames -F _valksor_sse valksor-sse\n")
	return b.String()
}

func fishCompletion(cmds []commandFlag) string {
	var b strings.Builder
	b.WriteString("# fish completion for valksor-sse\n")
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(&b, "complete -c valksor-sse -n '__fish_use_subcommand' -f -a '%s'\n", strings.Join(names, " "))
	for _, c := range cmds {
		for _, f := range c.flags {
			cond := "__fish_seen_subcommand_from " + c.name
			if c.name == "serve" {
				cond = "__fish_use_subcommand; or " + cond
			}
			fmt.Fprintf(&b, "complete -c valksor-sse -n '%s' -l %s\n", cond, strings.TrimPrefix(f, "--"))
		}
	}
	return b.String()
}

func powershellCompletion(cmds []commandFlag) string {
	var b strings.Builder
	b.WriteString("# PowerShell completion for valksor-sse\n$valksorSSEFlags = @{\n")
	var names []string
	for _, c := range cmds {
		names = append(names, "'"+c.name+"'")
		var quoted []string
		for _, f := range c.flags {
			quoted = append(quoted, "'"+f+"'")
		}
		fmt.Fprintf(&b, "    '%s' = @(%s)\n", c.name, strings.Join(quoted, ", "))
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "$valksorSSECommands = @(%s)\n", strings.Join(names, ", "))
	b.WriteString(`Register-ArgumentCompleter -Native -CommandName valksor-sse -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    $cmd = ($words | Where-Object { $_ -notlike '-*' } | Select-Object -First 1)
    if (-not $cmd -or ($words.Count -le 1 -and $wordToComplete -notlike '-*')) {
        if ($wordToComplete -notlike '-*') {
            $valksorSSECommands | Where-Object { $_ -like "$wordToComplete*" } |
                ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
            return
        }
        $cmd = 'serve'
    }
    $valksorSSEFlags[$cmd] | Where-Object { $_ -like "$wordToComplete*" } |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterName', $_) }
}
`)
	return b.String()
}
