package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/valksor/go-sse/bench"
)

// benchSubscribe runs bench --subscribe-only: the streams of one node for
// bench --nodes, or for a publisher of one's own.
func (m *Main) benchSubscribe(ctx context.Context, f *benchFlags, sub bench.Config) error {
	if f.compare || f.slow > 0 || f.publishers > 1 {
		return errors.New("bench: --subscribe-only publishes nothing: drop --compare-floor, --slow and --publishers")
	}
	sub.SubscribeOnly = true
	var readyErr error
	if f.readyFile != "" {
		sub.Ready = func(n int) { readyErr = bench.WriteReadyFile(f.readyFile, n) }
	}
	rep, err := bench.Run(ctx, sub)
	if err != nil {
		return err
	}
	if readyErr != nil {
		return readyErr
	}
	if !f.asJSON {
		rep.Latencies = nil
	}
	return m.printReport(f.asJSON, rep, rep.WriteTable)
}

// benchNodes runs bench --nodes: the streams of each node held by a
// subscriber process of its own (bench --subscribe-only), events published
// to the first node, and, with more than one node, the first node alone
// and all nodes in alternating rounds.
func (m *Main) benchNodes(ctx context.Context, f *benchFlags, tlsConfig *tls.Config) error {
	if f.compare || f.subscribe || f.slow > 0 {
		return errors.New("bench: --nodes cannot be combined with --compare-floor, --subscribe-only or --slow")
	}
	urls, pids, err := f.nodeTargets()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the subscribers: %w", err)
	}
	nc := bench.NodesConfig{
		Sub:        f.scenario(m, "", urls[0], urls[0]+"/publish", f.token, 0, tlsConfig),
		Progress:   m.Stderr,
		ServerPIDs: pids,
		Command:    f.subscriberCommand(ctx, self, urls),
	}
	for _, u := range urls {
		nc.StreamURLs = append(nc.StreamURLs, f.scenario(m, "", u, "", "", 0, nil).StreamURL)
	}
	if len(urls) == 1 {
		nc.Name = "1 node"
		rep, err := bench.RunNodes(ctx, nc)
		if err != nil {
			return err
		}
		return m.printReport(f.asJSON, rep, rep.WriteTable)
	}
	rep, err := bench.CompareNodes(ctx, nc, f.rounds)
	if err != nil {
		return err
	}
	return m.printReport(f.asJSON, rep, rep.WriteTable)
}

// nodeTargets reads --nodes (the servers' stream URLs) and --pids (their
// process ids, optional, in the same order).
func (f *benchFlags) nodeTargets() (urls []string, pids []int, err error) {
	for u := range strings.SplitSeq(f.nodes, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, strings.TrimSuffix(u, "/"))
		}
	}
	if len(urls) == 0 {
		return nil, nil, fmt.Errorf("bench: --nodes %q holds no URL; give the stream URLs of the servers, comma-separated", f.nodes)
	}
	for p := range strings.SplitSeq(f.pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pid, err := strconv.Atoi(p)
		if err != nil || pid < 0 {
			return nil, nil, fmt.Errorf("bench: --pids %q: %q is not a process id", f.pids, p)
		}
		pids = append(pids, pid)
	}
	if len(pids) > len(urls) {
		return nil, nil, fmt.Errorf("bench: --pids names %d processes for %d --nodes; give one per node, in the same order", len(pids), len(urls))
	}
	return urls, pids, nil
}

// subscriberCommand returns how a node's subscriber process is started:
// this program (self) as `bench --subscribe-only` on the node's URL, with
// this run's scenario and what it trusts.
func (f *benchFlags) subscriberCommand(ctx context.Context, self string, urls []string) func(node int, cfg bench.Config, readyFile string) *exec.Cmd {
	return func(node int, cfg bench.Config, readyFile string) *exec.Cmd {
		args := []string{"bench", "--subscribe-only", "--json",
			"--url", urls[node], "--topic", f.topic, "--ready-file", readyFile,
			"--streams", strconv.Itoa(cfg.Streams), "--publishes", strconv.Itoa(cfg.Publishes),
			"--concurrency", strconv.Itoa(f.concurrency), "--timeout", f.timeout.String(), "--await", f.await.String(),
			"--source-addrs=" + strconv.FormatBool(f.sourceAddrs),
		}
		if cfg.ServerPID > 0 {
			args = append(args, "--pid", strconv.Itoa(cfg.ServerPID))
		}
		if f.common.config != "" {
			args = append(args, "--config", f.common.config)
		}
		if f.insecure {
			args = append(args, "--insecure")
		}
		if f.ca != "" {
			args = append(args, "--ca", f.ca)
		}
		if f.h2 {
			args = append(args, "--h2", "--h2-streams-per-conn", strconv.Itoa(f.h2PerConn))
		}
		return exec.CommandContext(ctx, self, args...)
	}
}
