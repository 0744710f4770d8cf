package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...". When it
// is not, versionFrom reads the version from the build information.
var version = "dev"

// commit is set at build time with -ldflags "-X main.commit=...". When it
// is not, commitFrom reads the revision from the build information.
var commit = ""

// version prints the version, the commit, the Go version and the platform.
func (m *Main) version(_ context.Context, args []string) error {
	fs := m.newFlagSet("version", "version", "Prints the version (the release, or the revision of a development build),\nthe commit it was built from, the Go version and the platform.")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprintf(m.Stdout, "valksor-sse %s\ncommit:   %s\ngo:       %s\nplatform: %s/%s\n",
		versionFrom(version, bi, ok), commitFrom(commit, bi, ok), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

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
