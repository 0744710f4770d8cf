package process

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTarget is a process for terminate's sequence: it records the steps
// and exits when told to by the test's choices. It stands in for the
// Windows target, which cannot run here, and for the Unix one alike.
type fakeTarget struct {
	mu        sync.Mutex
	steps     []string
	canAsk    bool  // stop reports a request sent
	stopErr   error // stop fails
	obeysStop bool  // exits when asked
	killErr   error
	killable  bool // exits when killed
	exited    bool
}

func (f *fakeTarget) gone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exited
}

func (f *fakeTarget) stop() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, "stop")
	if f.stopErr != nil {
		return false, f.stopErr
	}
	if f.canAsk && f.obeysStop {
		f.exited = true
	}
	return f.canAsk, nil
}

func (f *fakeTarget) kill() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, "kill")
	if f.killErr != nil {
		return f.killErr
	}
	if f.killable {
		f.exited = true
	}
	return nil
}

func (f *fakeTarget) release() {}

// TestTerminateSequence: what Terminate does for each way a process
// answers, including a process that cannot be asked to stop (on Windows,
// one without a stop event), which is killed without waiting for the grace
// period.
func TestTerminateSequence(t *testing.T) {
	errDenied := errors.New("access denied")
	tests := []struct {
		name      string
		target    *fakeTarget
		grace     time.Duration
		wantSteps string
		wantErr   string // "" = nil
		minTime   time.Duration
	}{
		{"obeys the request", &fakeTarget{canAsk: true, obeysStop: true}, time.Minute, "stop", "", 0},
		{"killed after the grace period", &fakeTarget{canAsk: true, killable: true}, 200 * time.Millisecond, "stop kill", "", 200 * time.Millisecond},
		{"cannot be asked: killed at once", &fakeTarget{killable: true}, time.Minute, "stop kill", "", 0},
		{"request refused", &fakeTarget{stopErr: errDenied}, time.Minute, "stop", "ask it to stop (" + stopName + "): access denied", 0},
		{"kill refused", &fakeTarget{killErr: errDenied}, time.Minute, "stop kill", killName + ": access denied", 0},
		{"survives the kill", &fakeTarget{}, 0, "stop kill", "still running", killWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := terminate(context.Background(), tt.target, 42, tt.grace)
			took := time.Since(start)
			if got := strings.Join(tt.target.steps, " "); got != tt.wantSteps {
				t.Errorf("steps %q, want %q", got, tt.wantSteps)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("terminate = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "pid 42")):
				t.Errorf("terminate = %v, want an error naming pid 42 and containing %q", err, tt.wantErr)
			}
			if took < tt.minTime {
				t.Errorf("terminate returned after %v, before %v", took, tt.minTime)
			}
			if tt.grace == time.Minute && took > 30*time.Second {
				t.Errorf("terminate waited %v: the grace period was spent although it was not needed", took)
			}
		})
	}
}
