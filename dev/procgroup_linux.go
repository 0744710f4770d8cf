package dev

import (
	"bytes"
	"os"
	"strconv"
)

// hasLiveMember reports whether a process of group pgid is not a zombie,
// from /proc. Orphans are reaped by init, which in a container may never
// happen, so zombies must not count. Without /proc it answers true.
func hasLiveMember(pgid int) bool {
	d, err := os.Open("/proc")
	if err != nil {
		return true
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return true
	}
	want := strconv.Itoa(pgid)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may contain anything.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 3 || string(f[2]) != want {
			continue
		}
		if s := f[0][0]; s != 'Z' && s != 'X' && s != 'x' {
			return true
		}
	}
	return false
}
