package e2e_test

// What the documents (README.md, the guides under docs/, the examples'
// READMEs) tell a reader to type, run by the tests: the blocks marked
// "tested by TestName" (see internal/doccheck), read from the document at
// the start of each test, so that a changed command is the command tested.

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/doccheck"
	"github.com/valksor/go-sse/internal/proctest"
)

// docBlocks returns the blocks of doc (a path from the repository's root,
// such as "examples/python/README.md") marked "tested by" the running test,
// and fails the test unless there are want of them.
func docBlocks(t testing.TB, doc string, want int) []doccheck.Block {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(proctest.Root(), filepath.FromSlash(doc)))
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := strings.Cut(t.Name(), "/")
	blocks := doccheck.Parse(doc, src).BlocksTestedBy(name)
	if len(blocks) != want {
		t.Fatalf("%s has %d blocks marked <!-- tested by %s -->, want %d", doc, len(blocks), name, want)
	}
	return blocks
}

// docCommands returns the commands of a block, less a first "cd dir"
// (checked: the test runs them in its copy of dir).
func docCommands(t testing.TB, b doccheck.Block, dir string) []string {
	t.Helper()
	cmds := b.Commands()
	if len(cmds) > 0 && strings.HasPrefix(cmds[0], "cd ") {
		if cmds[0] != "cd "+dir {
			t.Fatalf("the block at line %d starts with %q, want cd %s", b.Line, cmds[0], dir)
		}
		cmds = cmds[1:]
	}
	return cmds
}

// docWords splits a command of a document into words.
func docWords(t testing.TB, cmd string) []string {
	t.Helper()
	w, err := doccheck.Words(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// valksorCommand splits a command that runs valksor-sse into the variables
// it sets (NAME=value words before the program) and the arguments, with each
// old string of replace (pairs old, new) replaced in the arguments: the
// ports the test chose instead of the document's.
func valksorCommand(t testing.TB, cmd string, replace ...string) (env, args []string) {
	t.Helper()
	words := docWords(t, cmd)
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		env, words = append(env, words[0]), words[1:]
	}
	if len(words) == 0 || words[0] != "valksor-sse" {
		t.Fatalf("%q: want a valksor-sse command", cmd)
	}
	args = words[1:]
	r := strings.NewReplacer(replace...)
	for i, a := range args {
		args[i] = r.Replace(a)
	}
	return env, args
}

// runDocCommands runs commands with bash -e in dir, as a reader who pastes
// them, with valksor-sse on the PATH being the binary under test, each old
// string of replace (pairs old, new) replaced in the text and env added to
// the environment. It returns their output, and fails the test when they
// fail or take more than 30 seconds.
func runDocCommands(t testing.TB, dir string, cmds []string, env []string, replace ...string) string {
	t.Helper()
	return runDocCommandsWith(t, filepath.Dir(bin), dir, cmds, env, replace...)
}

// runDocCommandsWith is runDocCommands with the valksor-sse of the
// directory binDir on the PATH.
func runDocCommandsWith(t testing.TB, binDir, dir string, cmds []string, env []string, replace ...string) string {
	t.Helper()
	script := strings.NewReplacer(replace...).Replace(strings.Join(cmds, "\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(withPath(cleanEnv(), binDir), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash -e -c %q: %v\n%s", script, err, out)
	}
	return string(out)
}

// withPath returns env with dir first on its PATH.
func withPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := dir
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = dir + string(os.PathListSeparator) + p
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path)
}

// copyExample copies the directory examples/name of the repository into a
// new temporary directory, which it returns: the tests run the examples
// there, and edit their files, leaving the repository as it is.
func copyExample(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(proctest.Root(), "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "var" || d.Name() == "__pycache__" {
				return filepath.SkipDir // what a run of the example left behind
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy examples/%s: %v", name, err)
	}
	return dst
}

// editFile replaces old, which must occur in the file, with new, as an
// editor's save would.
func editFile(t testing.TB, name, old, new string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	saveFile(t, name, strings.Replace(string(data), old, new, 1))
}

// needCommand skips the test when the program name is not on the PATH, or
// fails it under CI (CI=true), where the test command installs it.
func needCommand(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed to run what the document says: %v", name, err)
		}
		t.Skipf("%s is not installed: %v", name, err)
	}
}
