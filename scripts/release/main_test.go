package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// host is the target this test runs on.
var host = Target{runtime.GOOS, runtime.GOARCH}

// newRelease returns a release writing into a temporary directory, run from
// the repository's top (where README.md and LICENSE are).
func newRelease(t *testing.T) release {
	t.Helper()
	t.Chdir("../..")
	return release{Version: "v1.2.3", Commit: "0123456789abcdef", Time: time.Unix(1700000000, 0).UTC(), Dir: t.TempDir()}
}

// TestPackAndCheck: an archive holds the binary and the docs under one
// directory, and check accepts it; archives that lack a file or hold
// something else than a program for the target are refused.
func TestPackAndCheck(t *testing.T) {
	r := newRelease(t)
	self := tinyProgram(t)
	if err := checkExecutable(mustRead(t, self), host); err != nil {
		if strings.Contains(err.Error(), "no check") {
			t.Skip(err)
		}
		t.Fatalf("checkExecutable(a static %s program) = %v", host, err)
	}
	for _, tt := range []Target{host, {"windows", runtime.GOARCH}} {
		archive := filepath.Join(r.Dir, r.name(tt)+tt.ext())
		if err := r.pack(tt, self, archive); err != nil {
			t.Fatal(err)
		}
		err := r.check(tt, archive)
		switch {
		case tt == host && err != nil:
			t.Errorf("check(%s) = %v, want nil", tt, err)
		case tt != host && (err == nil || !strings.Contains(err.Error(), "valksor-sse.exe")):
			t.Errorf("check(%s) of an archive holding a %s program = %v, want an error naming valksor-sse.exe", tt, host, err)
		}
	}

	t.Run("not a program", func(t *testing.T) {
		r := r
		r.Dir = t.TempDir()
		archive := filepath.Join(r.Dir, "x"+host.ext())
		if err := r.pack(host, "LICENSE", archive); err != nil {
			t.Fatal(err)
		}
		if err := r.check(host, archive); err == nil || !strings.Contains(err.Error(), "not a") {
			t.Errorf("check = %v, want an error saying it is not a program", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		r := r
		r.Dir = t.TempDir()
		archive := filepath.Join(r.Dir, "x"+host.ext())
		saved := docs
		docs = []string{"README.md"}
		err := r.pack(host, self, archive)
		docs = saved
		if err != nil {
			t.Fatal(err)
		}
		if err := r.check(host, archive); err == nil || !strings.Contains(err.Error(), "LICENSE") {
			t.Errorf("check = %v, want an error naming LICENSE", err)
		}
	})
}

// TestVerifySums: the checksums file must match every archive it lists and
// list all of them.
func TestVerifySums(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for _, tt := range Targets {
		name := "a-" + tt.OS + "-" + tt.Arch
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		sum, err := sha256File(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, sum+"  "+name)
	}
	write := func(lines []string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "sums"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lines)
	if err := verifySums(dir, "sums"); err != nil {
		t.Fatalf("verifySums = %v", err)
	}
	write(lines[1:])
	if err := verifySums(dir, "sums"); err == nil || !strings.Contains(err.Error(), "lists 5 archives") {
		t.Errorf("verifySums with a line missing = %v", err)
	}
	write(lines)
	if err := os.WriteFile(filepath.Join(dir, "a-linux-amd64"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := verifySums(dir, "sums"); err == nil || !strings.Contains(err.Error(), "a-linux-amd64 has SHA-256") {
		t.Errorf("verifySums with a changed archive = %v", err)
	}
}

// tinyProgram builds a static program for this machine, as release does.
func tinyProgram(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, host.exe())
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
