package manykeysbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a `runlog ui` process serving one home on 127.0.0.1.
type server struct {
	cmd    *exec.Cmd
	base   string        // http://127.0.0.1:port
	exited chan struct{} // closed when the process has exited
	logf   string        // its stdout and stderr

	mu   sync.Mutex
	peak int64 // highest VmHWM seen, in bytes
	done chan struct{}
}

// command returns an exec.Cmd of the runlog binary with args, in an
// environment without runlog's own variables: no token, no remote, no
// home but the one the arguments name.
func (b *bench) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.Runlog, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNLOG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// startUI starts `runlog ui` on home at a free loopback port and waits until
// it answers GET /api/v1/health.
func (b *bench) startUI(ctx context.Context, home string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf := filepath.Join(b.dir, filepath.Base(home)+"-ui.log")
	f, err := os.Create(logf)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &server{base: "http://" + addr, exited: make(chan struct{}), logf: logf, done: make(chan struct{})}
	s.cmd = b.command(ctx, "--home", home, "ui", "--addr", addr)
	s.cmd.Stdout, s.cmd.Stderr = f, f
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	go s.sample()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		resp, err := http.Get(s.base + "/api/v1/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("runlog ui exited before it answered: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("runlog ui did not answer at %s in 2 minutes: %v: %s", s.base, err, s.logTail())
		}
	}
}

// sample records the server's VmHWM every 100 ms until it exits, so that
// a server killed for its memory still leaves its peak.
func (s *server) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if hwm, ok := vmHWM(s.cmd.Process.Pid); ok {
			s.mu.Lock()
			s.peak = max(s.peak, hwm)
			s.mu.Unlock()
		}
		select {
		case <-s.done:
			return
		case <-s.exited:
			return
		case <-t.C:
		}
	}
}

// peakRSS returns the server's peak RSS so far in bytes, 0 where unknown.
func (s *server) peakRSS() int64 {
	if hwm, ok := vmHWM(s.cmd.Process.Pid); ok {
		s.mu.Lock()
		s.peak = max(s.peak, hwm)
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// stop interrupts the server, as Ctrl-C does, kills it if it has not
// exited 10 s later, and returns its peak RSS in bytes (0 where unknown).
func (s *server) stop() int64 {
	peak := s.peakRSS()
	close(s.done)
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	if rss, ok := maxRSS(s.cmd.ProcessState); ok {
		peak = max(peak, rss)
	}
	return peak
}

// killed says whether the server died of a signal it did not ask for, such
// as the kernel's out-of-memory killer.
func (s *server) killed() bool {
	select {
	case <-s.exited:
	default:
		return false
	}
	ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() != syscall.SIGINT
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logf)
	return tail(b)
}
