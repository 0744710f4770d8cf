package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "afb44bd4598f2367052b273bd02b06980ac2763c"
	tests := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"ldflags win", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, true, "v1.2.3"},
		{"no build info", "dev", nil, false, "dev"},
		{"go install @version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true, "v1.4.0"},
		{"pseudo-version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20251127172200-afb44bd4598f+dirty"}}, true, "v0.0.0-20251127172200-afb44bd4598f+dirty"},
		{"devel with revision", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, true, "dev (revision afb44bd4598f)"},
		{"devel modified", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, true, "dev (revision afb44bd4598f, modified)"},
		{"short revision", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc", "")}, true, "dev (revision abc)"},
		{"devel without VCS", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionFrom(tt.ldflags, tt.bi, tt.ok); got != tt.want {
				t.Errorf("versionFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommitFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "afb44bd4598f2367052b273bd02b06980ac2763c"
	tests := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"ldflags win", "0123abc", &debug.BuildInfo{Settings: vcs(rev, "true")}, true, "0123abc"},
		{"revision", "", &debug.BuildInfo{Settings: vcs(rev, "false")}, true, rev},
		{"modified", "", &debug.BuildInfo{Settings: vcs(rev, "true")}, true, rev + " (modified)"},
		{"no VCS", "", &debug.BuildInfo{}, true, "unknown"},
		{"no build info", "", nil, false, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commitFrom(tt.ldflags, tt.bi, tt.ok); got != tt.want {
				t.Errorf("commitFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWantsHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--help"}, true},
		{[]string{"-h"}, true},
		{[]string{"--port", "0", "-help"}, true},
		{[]string{"--port", "0"}, false},
		{[]string{"--", "--help"}, false},
	} {
		if got := wantsHelp(tt.args); got != tt.want {
			t.Errorf("wantsHelp(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
