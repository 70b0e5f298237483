// Package weedtest gives tests and benchmarks a real S3 server: SeaweedFS's
// weed, built, started and stopped by scripts/seaweedfs.sh (the one place
// that knows its version, its flags and its ports).
//
// Tests find their server this way:
//
//   - $RUNLOG_TEST_S3, an endpoint (http://127.0.0.1:PORT) of a server
//     already running (scripts/test.sh starts one and sets it);
//   - else, if weed is built (scripts/seaweedfs.sh path), a server this
//     process starts for itself, stopped by StopShared;
//   - else the test is skipped, saying how to build weed.
//
// Tests that kill and restart the server start their own with Start.
package weedtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvEndpoint names the environment variable holding the endpoint of a
// running S3 server for the tests.
const EnvEndpoint = "RUNLOG_TEST_S3"

// Server is a weed server started in a folder of its own.
type Server struct {
	Dir      string // its data, ports, pid and log (weed.log)
	Endpoint string // its S3 endpoint, http://127.0.0.1:PORT
	script   string
}

// Script returns the path of scripts/seaweedfs.sh, found from the working
// folder up to the module's root.
func Script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "scripts", "seaweedfs.sh")
			if _, err := os.Stat(s); err != nil {
				return "", fmt.Errorf("scripts/seaweedfs.sh: %w", err)
			}
			return s, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/seaweedfs.sh: not inside the runlog repository")
		}
		dir = parent
	}
}

func run(script string, args ...string) (string, error) {
	cmd := exec.Command(script, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("seaweedfs.sh %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Binary returns the path of the built weed, or an error saying how to
// build it.
func Binary() (string, error) {
	script, err := Script()
	if err != nil {
		return "", err
	}
	bin, err := run(script, "path")
	if err != nil {
		return "", errors.New("weed is not built: run scripts/seaweedfs.sh build (about 7 CPU-minutes)")
	}
	return bin, nil
}

// Start starts a weed server with its data in dir and returns once it
// answers S3 requests (about 10 s).
func Start(dir string) (*Server, error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, script: script}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop kills the server (weed ignores SIGTERM for long; its data is
// written through).
func (s *Server) Stop() error {
	_, err := run(s.script, "stop", s.Dir)
	return err
}

// Restart starts the server again, on the same ports and data, after
// Stop.
func (s *Server) Restart() error {
	endpoint, err := run(s.script, "start", s.Dir)
	if err != nil {
		return err
	}
	s.Endpoint = endpoint
	return nil
}

// StartT starts a server of the test's own, stopped when the test ends.
// It skips the test when weed is not built, unless $RUNLOG_TEST_S3 is set:
// then S3 tests are expected to run, and a missing weed fails it.
func StartT(t testing.TB) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv(EnvEndpoint) != "" {
			t.Fatalf("%s is set but this test needs its own server: %v", EnvEndpoint, err)
		}
		t.Skipf("no S3 server: %v (or set %s)", err, EnvEndpoint)
	}
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var shared struct {
	once     sync.Once
	server   *Server
	endpoint string
	err      error
}

// Endpoint returns the endpoint of the tests' S3 server (see Find). It
// skips the test when there is none.
func Endpoint(t testing.TB) string {
	t.Helper()
	e, err := Find()
	if err != nil {
		t.Skipf("no S3 server: %v (or set %s)", err, EnvEndpoint)
	}
	return e
}

// Find returns the endpoint of the tests' S3 server: $RUNLOG_TEST_S3, or
// a server started once for this process (stop it with StopShared in
// TestMain), or an error saying why there is none.
func Find() (string, error) {
	if e := os.Getenv(EnvEndpoint); e != "" {
		return e, nil
	}
	shared.once.Do(func() {
		if _, shared.err = Binary(); shared.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "runlog-weed-")
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.err = Start(dir)
		if shared.err == nil {
			shared.endpoint = shared.server.Endpoint
		}
	})
	return shared.endpoint, shared.err
}

// StopShared stops the server Endpoint started, if it did, and removes
// its data.
func StopShared() {
	if shared.server != nil {
		shared.server.Stop()
		os.RemoveAll(shared.server.Dir)
	}
}
