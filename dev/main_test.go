package dev_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// appBin is the test app (testdata/app), built once by TestMain.
var appBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dev-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	appBin = filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-o", appBin, "./testdata/app")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building testdata/app:", err)
		return 1
	}
	return m.Run()
}
