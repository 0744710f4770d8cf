//go:build !unix && !windows

package dev

import (
	"os"
	"os/exec"
)

// group is only the command itself on systems without process groups.
type group struct{ p *os.Process }

func newGroup(*exec.Cmd) (*group, error)     { return &group{}, nil }
func (g *group) started(p *os.Process) error { g.p = p; return nil }
func (g *group) terminate() bool             { return false }
func (g *group) kill()                       { _ = g.p.Kill() }
func (g *group) alive() bool                 { return false }
func (g *group) close()                      {}
