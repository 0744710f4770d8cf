//go:build linux && !valksor_portable

package sse

import (
	"sync"
	"syscall"
)

// closeWatcher notices hijacked streams whose client hung up, without a
// goroutine per stream: one epoll instance waits for EPOLLRDHUP on all of
// them.
type closeWatcher struct {
	epfd   int
	stopR  int // read end of the pipe that wakes run for stop
	stopW  int
	mu     sync.Mutex
	subs   map[uint32]*subscriber
	next   uint32
	closed bool
}

// watchKeyStop marks the stop pipe's epoll event.
const watchKeyStop = 0

func newCloseWatcher() (*closeWatcher, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	return &closeWatcher{epfd: epfd, stopR: p[0], stopW: p[1], subs: make(map[uint32]*subscriber), next: watchKeyStop + 1}, nil
}

// add watches s's connection. It reports false when it cannot, and the
// caller falls back to a reading goroutine.
func (w *closeWatcher) add(s *subscriber, raw syscall.RawConn) bool {
	if raw == nil {
		return false
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	// Keys wrap after 2^32 streams: skip the stop key and any still in use.
	key := w.next
	for key == watchKeyStop || w.subs[key] != nil {
		key++
	}
	w.next = key + 1
	w.subs[key] = s
	w.mu.Unlock()
	s.mu.Lock()
	s.watchKey = key
	s.mu.Unlock()
	var err error
	cerr := raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR | syscall.EPOLLONESHOT, Fd: int32(key)}
		err = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil || err != nil {
		w.mu.Lock()
		delete(w.subs, key)
		w.mu.Unlock()
		return false
	}
	return true
}

// remove forgets s; the kernel drops the epoll entry when the socket closes.
func (w *closeWatcher) remove(s *subscriber) {
	s.mu.Lock()
	key := s.watchKey
	s.mu.Unlock()
	if key == 0 {
		return
	}
	w.mu.Lock()
	delete(w.subs, key)
	w.mu.Unlock()
}

// run reports hung-up streams to hungUp until stop.
func (w *closeWatcher) run(hungUp func(*subscriber)) {
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			key := uint32(ev.Fd)
			if key == watchKeyStop {
				syscall.Close(w.epfd)
				syscall.Close(w.stopR)
				syscall.Close(w.stopW)
				return
			}
			w.mu.Lock()
			s := w.subs[key]
			delete(w.subs, key)
			w.mu.Unlock()
			if s != nil {
				hungUp(s)
			}
		}
	}
}

// stop ends run.
func (w *closeWatcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		syscall.Write(w.stopW, []byte{0})
	}
}
