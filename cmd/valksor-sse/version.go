package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...". When it
// is not, versionString reads the version from the build information.
var version = "dev"

// version prints the version.
func (m *Main) version(_ context.Context, args []string) error {
	fs := m.newFlagSet("version", "version", "Prints the version: the release, or the revision of a development build.")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, "valksor-sse", versionString())
	return nil
}

// versionString is the version printed by `valksor-sse version`: the one
// set with -ldflags, else the main module's version from the build
// information (v1.2.3 for go install ...@v1.2.3, a pseudo-version for a
// build in a clone), else the VCS revision stamped by go build, else "dev".
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(version, bi, ok)
}

// versionFrom is versionString for a given -ldflags version and build
// information.
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
