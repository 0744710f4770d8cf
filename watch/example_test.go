package watch_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/valksor/go-sse/watch"
)

// A development server watches its templates and static files, publishes a
// reload or css-update event for each batch, and restarts on Go changes.
func Example() {
	w, err := watch.New(watch.Options{
		Paths: []string{"templates", "static"},
		Rules: []watch.Rule{
			{Pattern: "*.go", Action: watch.Restart},
			{Pattern: "static/**/*.map", Action: watch.Ignore},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // watch: templates: no such directory; ...
		return
	}
	defer w.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_ = w.Run(ctx, func(b watch.Batch) {
		switch b.Action {
		case watch.Restart:
			fmt.Println("restart for", b.Files)
		default: // watch.Reload or watch.CSSUpdate: publish as the sse event of that type
			fmt.Println(string(b.Action), b.Files)
		}
	})
}
