package dev_test

import (
	"fmt"
	"github.com/valksor/go-sse/internal/proctest"
	"os"
	"testing"
)

// appBin is the test app (testdata/app), built once by TestMain.
var appBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var remove func()
	var err error
	appBin, remove, err = proctest.Build("./dev/testdata/app", "app", false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building testdata/app:", err)
		return 1
	}
	defer remove()
	return m.Run()
}
