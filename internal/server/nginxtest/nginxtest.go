// Package nginxtest runs nginx in front of runlog servers, for the tests
// and benchmarks of a team server's replicas: a config in a temporary
// folder, 127.0.0.1 on a free port, requests balanced round robin.
package nginxtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Bin returns nginx's program, or "" when nginx is not installed
// (apt-get install nginx; scripts/test.sh does).
func Bin() string {
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// Proxy is a running nginx.
type Proxy struct {
	URL string // http://127.0.0.1:port
	cmd *exec.Cmd
	dir string
}

// Start starts nginx bin in front of the servers at backends (base URLs),
// balancing requests among them round robin; a backend that refuses a
// connection is skipped for 2 s. It returns once nginx answers.
func Start(bin string, backends ...string) (*Proxy, error) {
	dir, err := os.MkdirTemp("", "runlog-nginx-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o777) // nginx's workers run as nobody under root
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	var up strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&up, "    server %s max_fails=1 fail_timeout=2s;\n", strings.TrimPrefix(b, "http://"))
	}
	// Bodies are buffered in memory (a batch is at most 32 MiB); Host is
	// passed on, which a server on loopback checks.
	conf := fmt.Sprintf(`daemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  client_max_body_size 64m;
  client_body_buffer_size 64m;
  upstream runlog {
%[2]s    keepalive 64;
  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://runlog;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout;
    }
  }
}
`, dir, up.String(), addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", path, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	p := &Proxy{URL: "http://" + addr, cmd: cmd, dir: dir}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.URL + "/api/v1/health"); err == nil {
			resp.Body.Close()
			return p, nil
		}
		if time.Since(start) > 20*time.Second {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			p.Stop()
			return nil, fmt.Errorf("nginx does not answer at %s: %s %s", p.URL, out.String(), log)
		}
	}
}

// Stop stops nginx (a fast shutdown: a graceful one waits for the
// clients' idle connections) and removes its folder.
func (p *Proxy) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(p.dir)
}
