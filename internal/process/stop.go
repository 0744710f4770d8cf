package process

import "strconv"

// stopEventName is the name of the Windows event on which the valksor-sse
// with this pid waits for stop requests (see NotifyStop). It is in the
// session's namespace, so a server and the `stop` that asks it to end must
// run in the same login session; from elsewhere Terminate falls back to
// ending the process.
func stopEventName(pid int) string {
	return `Local\valksor-sse-stop-` + strconv.Itoa(pid)
}
