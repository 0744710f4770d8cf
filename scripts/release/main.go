// Command release builds the release archives of valksor-sse: a static,
// stripped binary for each supported platform, packed with README.md and
// LICENSE (tar.gz, zip for Windows), and a SHA-256 checksums file. Each
// archive is read back and checked before release reports success, and the
// binary for the platform release runs on is asked for its version.
//
//	go run ./scripts/release                  # HEAD must carry a vX.Y.Z tag; writes dist/
//	go run ./scripts/release -version v0.1.0  # any commit, named v0.1.0
//	go run ./scripts/release -dry-run         # everything in a temporary directory, then removed
//
// The version is the tag on HEAD (git describe --exact-match) unless
// -version is given; -dry-run names an untagged build after `git describe`.
// The binaries are built with CGO_ENABLED=0 and -trimpath, and stamped with
// the version and the commit (main.version and main.commit), so
// `valksor-sse version` names both. Nothing is uploaded anywhere.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Target is one platform a release is built for.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// exe is the binary's file name on the target.
func (t Target) exe() string {
	if t.OS == "windows" {
		return "valksor-sse.exe"
	}
	return "valksor-sse"
}

// ext is the archive format of the target.
func (t Target) ext() string {
	if t.OS == "windows" {
		return ".zip"
	}
	return ".tar.gz"
}

// Targets are the supported platforms.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// docs are the files packed beside the binary.
var docs = []string{"README.md", "LICENSE"}

// semver is a release tag.
var semver = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

func main() {
	version := flag.String("version", "", "the version to stamp (default: the vX.Y.Z tag on HEAD)")
	out := flag.String("out", "dist", "directory for the archives and the checksums file")
	dry := flag.Bool("dry-run", false, "build and check in a temporary directory, keep nothing")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), "Usage: go run ./scripts/release [-version vX.Y.Z] [-out DIR] [-dry-run]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *version, *out, *dry); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, version, out string, dry bool) error {
	// Work from the repository's top, wherever release was started.
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	top, err := git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("find the repository: %w", err)
	}
	if err := os.Chdir(top); err != nil {
		return err
	}
	commit, err := git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return fmt.Errorf("find the commit: %w", err)
	}
	when, err := git(ctx, "log", "-1", "--format=%ct")
	if err != nil {
		return fmt.Errorf("find the commit time: %w", err)
	}
	secs, err := strconv.ParseInt(when, 10, 64)
	if err != nil {
		return fmt.Errorf("commit time %q: %w", when, err)
	}
	if version == "" {
		version, err = tagVersion(ctx, dry)
		if err != nil {
			return err
		}
	}
	if dry {
		if out, err = os.MkdirTemp("", "valksor-sse-release-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	}
	r := release{Version: version, Commit: commit, Time: time.Unix(secs, 0).UTC(), Dir: out}
	files, err := r.build(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("release %s (commit %.12s): %d archives and %s in %s\n", version, commit, len(files)-1, files[len(files)-1], out)
	if dry {
		fmt.Println("dry run: nothing kept")
	}
	return nil
}

// tagVersion returns the release tag on HEAD. A dry run of an untagged
// commit is named after `git describe`.
func tagVersion(ctx context.Context, dry bool) (string, error) {
	tag, err := git(ctx, "describe", "--tags", "--exact-match", "--match", "v*", "HEAD")
	if err == nil && semver.MatchString(tag) {
		return tag, nil
	}
	if !dry {
		return "", errors.New("HEAD carries no vX.Y.Z tag: tag it (git tag -a v0.1.0 -m v0.1.0), or name the version with -version")
	}
	desc, err := git(ctx, "describe", "--tags", "--always", "--dirty")
	if err != nil {
		return "", fmt.Errorf("describe HEAD: %w", err)
	}
	if !strings.HasPrefix(desc, "v") {
		desc = "v0.0.0-" + desc
	}
	return desc, nil
}

// git runs git with args and returns its trimmed output.
func git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// release is one set of archives.
type release struct {
	Version, Commit string
	Time            time.Time // every file in the archives gets this time, so archives are reproducible
	Dir             string
}

// name is the base name of t's archive, without the extension; it is also
// the directory inside the archive.
func (r release) name(t Target) string {
	return fmt.Sprintf("valksor-sse_%s_%s_%s", r.Version, t.OS, t.Arch)
}

// build builds, packs and checks every target and writes the checksums
// file. It returns the names of the files written, the checksums file
// last.
func (r release) build(ctx context.Context) ([]string, error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "valksor-sse-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var files []string
	var sums bytes.Buffer
	for _, t := range Targets {
		bin := filepath.Join(work, t.OS+"-"+t.Arch, t.exe())
		if err := r.compile(ctx, t, bin); err != nil {
			return nil, err
		}
		fi, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		archive := r.name(t) + t.ext()
		if err := r.pack(t, bin, filepath.Join(r.Dir, archive)); err != nil {
			return nil, fmt.Errorf("pack %s: %w", t, err)
		}
		if err := r.check(t, filepath.Join(r.Dir, archive)); err != nil {
			return nil, fmt.Errorf("check %s: %w", archive, err)
		}
		sum, err := sha256File(filepath.Join(r.Dir, archive))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, archive)
		fmt.Printf("%-14s %5.1f MB binary  %s\n", t, float64(fi.Size())/1e6, archive)
		files = append(files, archive)
		if t.OS == runtime.GOOS && t.Arch == runtime.GOARCH {
			if err := r.selfCheck(ctx, bin); err != nil {
				return nil, err
			}
		}
	}
	sumsName := fmt.Sprintf("valksor-sse_%s_checksums.txt", r.Version)
	if err := os.WriteFile(filepath.Join(r.Dir, sumsName), sums.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if err := verifySums(r.Dir, sumsName); err != nil {
		return nil, err
	}
	return append(files, sumsName), nil
}

// compile builds the static, stripped binary for t.
func (r release) compile(ctx context.Context, t Target, bin string) error {
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", r.Version, r.Commit)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/valksor-sse")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", t, err)
	}
	return nil
}

// selfCheck runs the binary built for this machine and checks that it
// names the version and the commit it was stamped with.
func (r release) selfCheck(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", bin, err)
	}
	for _, want := range []string{"valksor-sse " + r.Version + "\n", "commit:   " + r.Commit + "\n"} {
		if !strings.Contains(string(out), want) {
			return fmt.Errorf("%s version printed %q, want a line %q", bin, out, strings.TrimSpace(want))
		}
	}
	return nil
}

// pack writes t's archive: a directory named after the archive holding the
// binary and the docs.
func (r release) pack(t Target, bin, archive string) (err error) {
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	dir := r.name(t)
	entries := []struct{ src, name string }{{bin, t.exe()}}
	for _, d := range docs {
		entries = append(entries, struct{ src, name string }{d, d})
	}
	if t.ext() == ".zip" {
		zw := zip.NewWriter(f)
		for _, e := range entries {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return err
			}
			h := &zip.FileHeader{Name: path.Join(dir, e.name), Method: zip.Deflate, Modified: r.Time}
			h.SetMode(mode(e.name, t))
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return zw.Close()
	}
	gz, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: r.Time, Format: tar.FormatPAX}); err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: path.Join(dir, e.name), Typeflag: tar.TypeReg, Mode: int64(mode(e.name, t)), Size: int64(len(b)), ModTime: r.Time, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// mode is the permission of an archived file.
func mode(name string, t Target) os.FileMode {
	if name == t.exe() {
		return 0o755
	}
	return 0o644
}

// entry is a file read back from an archive.
type entry struct {
	mode os.FileMode
	data []byte
}

// check reads t's archive back: it must hold exactly the binary (an
// executable for t: ELF, Mach-O or PE for the right architecture, mode 0755)
// and the docs, each under the archive's directory.
func (r release) check(t Target, archive string) error {
	files, err := readArchive(archive)
	if err != nil {
		return err
	}
	dir := r.name(t)
	want := append([]string{t.exe()}, docs...)
	var got []string
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(got)
	for i := range want {
		want[i] = path.Join(dir, want[i])
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("holds %q, want %q", got, want)
	}
	bin := files[path.Join(dir, t.exe())]
	if bin.mode.Perm() != 0o755 {
		return fmt.Errorf("%s has mode %v, want 0755", t.exe(), bin.mode.Perm())
	}
	if err := checkExecutable(bin.data, t); err != nil {
		return fmt.Errorf("%s: %w", t.exe(), err)
	}
	for _, d := range docs {
		src, err := os.ReadFile(d)
		if err != nil {
			return err
		}
		if !bytes.Equal(files[path.Join(dir, d)].data, src) {
			return fmt.Errorf("%s differs from the file in the repository", d)
		}
	}
	return nil
}

// readArchive returns the regular files of a .tar.gz or .zip archive by
// name.
func readArchive(archive string) (map[string]entry, error) {
	files := make(map[string]entry)
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			files[f.Name] = entry{f.Mode(), b}
		}
		return files, nil
	}
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		files[h.Name] = entry{os.FileMode(h.Mode), b}
	}
}

// sha256File returns the hex SHA-256 of a file.
func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verifySums checks every line of the checksums file against the file it
// names in dir, as `sha256sum -c` would.
func verifySums(dir, sumsName string) error {
	f, err := os.Open(filepath.Join(dir, sumsName))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return fmt.Errorf("%s: malformed line %q", sumsName, sc.Text())
		}
		got, err := sha256File(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got != sum {
			return fmt.Errorf("%s: %s has SHA-256 %s, the file says %s", sumsName, name, got, sum)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if n != len(Targets) {
		return fmt.Errorf("%s lists %d archives, want %d", sumsName, n, len(Targets))
	}
	return nil
}

// checkExecutable checks that b is a program for t: ELF for Linux (static:
// no program interpreter), Mach-O for macOS, PE for Windows, each for t's
// architecture.
func checkExecutable(b []byte, t Target) error {
	r := bytes.NewReader(b)
	switch t.OS {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			return fmt.Errorf("not an ELF program: %w", err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[t.Arch]
		if f.Machine != want {
			return fmt.Errorf("built for %v, want %v", f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return errors.New("dynamically linked (it names a program interpreter); build with CGO_ENABLED=0")
			}
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			return fmt.Errorf("not a Mach-O program: %w", err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[t.Arch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			return fmt.Errorf("built for %v (type %v), want an executable for %v", f.Cpu, f.Type, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			return fmt.Errorf("not a PE program: %w", err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[t.Arch]
		if f.Machine != want {
			return fmt.Errorf("built for machine %#x, want %#x", f.Machine, want)
		}
	default:
		return fmt.Errorf("no check for %s", t)
	}
	return nil
}
