package main

import "github.com/valksor/go-sse/cmd/valksor-sse/internal/config"

// watchFlags are the flags that add to the watch block of the config.
type watchFlags struct {
	paths stringList
	poll  bool
}

func (w *watchFlags) register(fs *flagSet) {
	fs.Var(&w.paths, "watch", "reload browsers when files under `dir` change (repeatable; adds to watch.paths)")
	fs.BoolVar(&w.poll, "poll", false, "poll watched files instead of using inotify (Docker bind mounts, network drives, WSL)")
}

func (w watchFlags) apply(cfg *config.Config) {
	cfg.Watch.Paths = append(cfg.Watch.Paths, w.paths...)
	if w.poll {
		cfg.Watch.Poll = true
	}
}
