// Package objstorebench measures uploading a checkpoint to S3-compatible
// storage through internal/objstore (goal ≥ 200 MB/s for 1 GiB), beside
// `cp` of the same file on this disk in the same run, and prints one
// Markdown table. `runlog-bench objstore` runs it.
//
// A second reference is the server's own speed: the file in one PUT by
// curl, without hashing or parts.
//
// It measures the package's path (hash once, then parts sent in parallel
// with their MD5, then the manifest), and the upload the clients make:
// the file sent to a runlog server (PUT /api/v1/runs/{id}/files/{path},
// remote.Client.PutFile, the sha256 known from registration), which
// streams it to the same S3 server (objstore.PutReader: parts hashed
// and sent as they arrive, the whole checked before completion).
package objstorebench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/objstore"
	"github.com/runlog/runlog/internal/objstore/weedtest"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/server"
)

// Config sizes the benchmark.
type Config struct {
	Dir      string // scratch folder; removed afterwards unless Keep
	Keep     bool
	Endpoint string // an S3 server's endpoint; "" starts SeaweedFS (scripts/seaweedfs.sh)
	Size     int64  // bytes of the checkpoint
	PartSize int64  // bytes of one part (objstore's default if 0)
	Parallel int    // parts sent at once (objstore's default if 0)
	Repeat   int    // repetitions; medians are reported
	Out      io.Writer
	Log      io.Writer // progress, and each row as it is measured
}

// Default is the configuration the goal is stated for.
var Default = Config{Size: 1 << 30, Repeat: 3}

type row struct{ what, time, rate, ratio, goal string }

// Run measures every row and prints the table to c.Out.
func Run(ctx context.Context, c Config) error {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	dir := c.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "runlog-bench-objstore-*"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	endpoint := c.Endpoint
	server := "the S3 server at " + endpoint
	if endpoint == "" {
		fmt.Fprintln(c.Log, "starting SeaweedFS (scripts/seaweedfs.sh)")
		srv, err := weedtest.Start(filepath.Join(dir, "weed"))
		if err != nil {
			return err
		}
		defer srv.Stop()
		endpoint, server = srv.Endpoint, "SeaweedFS on this machine"
	}

	src := filepath.Join(dir, "checkpoint.pt")
	fmt.Fprintf(c.Log, "writing a %d MiB checkpoint of random bytes\n", c.Size>>20)
	if err := writeRandom(src, c.Size); err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()

	var rows []row
	mb := float64(c.Size) / 1e6
	add := func(what string, d, ref time.Duration, goal string) {
		r := row{what: what, time: fmt.Sprintf("%.2f s", d.Seconds()), rate: fmt.Sprintf("%.0f MB/s", mb/d.Seconds()), goal: goal}
		if ref > 0 {
			r.ratio = fmt.Sprintf("%.2f×", d.Seconds()/ref.Seconds())
		}
		rows = append(rows, r)
		fmt.Fprintf(c.Log, "%-60s %s %s\n", r.what, r.time, r.rate)
	}

	// Each repetition uploads into a new prefix, so that the content is
	// new to it and nothing is deduplicated; cp writes a new file.
	// The server's own speed, without this package: the file in one PUT
	// by curl (where curl is installed, and to anonymous servers only:
	// curl does not sign here).
	_, lookErr := exec.LookPath("curl")
	anonymous := lookErr == nil && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_ACCESS_KEY") == ""
	runID, serverHome, err := benchRun(dir)
	if err != nil {
		return err
	}
	var cps, curls, puts, viaServer, dedups, gets []time.Duration
	for i := range max(1, c.Repeat) {
		dst := filepath.Join(dir, "copy.pt")
		d, err := timing.Timed(func() error {
			out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput()
			if err != nil {
				return fmt.Errorf("cp: %w: %s", err, out)
			}
			return nil
		})
		if err != nil {
			return err
		}
		os.Remove(dst)
		cps = append(cps, d)

		loc := objstore.Location{Bucket: "runlog-bench", Prefix: fmt.Sprintf("rep%d", i), Endpoint: endpoint, Region: "us-east-1"}
		s, err := objstore.New(loc, objstore.Options{PartSize: c.PartSize, Parallel: c.Parallel})
		if err != nil {
			return err
		}
		if err := s.CreateBucket(ctx); err != nil {
			return err
		}
		if anonymous {
			url := fmt.Sprintf("%s/%s/curl/rep%d/checkpoint.pt", endpoint, loc.Bucket, i)
			d, err := timing.Timed(func() error {
				out, err := exec.CommandContext(ctx, "curl", "-sSf", "-T", src, url).CombinedOutput()
				if err != nil {
					return fmt.Errorf("curl -T: %w: %s", err, out)
				}
				return nil
			})
			if err != nil {
				return err
			}
			curls = append(curls, d)
		}

		var e objstore.Entry
		d, err = timing.Timed(func() error {
			var err error
			e, err = s.Put(ctx, "bench", "checkpoints/step-1000.pt", f, c.Size)
			return err
		})
		if err != nil {
			return err
		}
		puts = append(puts, d)
		fmt.Fprintf(c.Log, "  put %d: %.2f s (%.0f MB/s), cp %.2f s\n", i+1, d.Seconds(), mb/d.Seconds(), cps[i].Seconds())

		d, err = timing.Timed(func() error {
			_, err := s.Put(ctx, "bench2", "checkpoints/best.pt", f, c.Size)
			return err
		})
		if err != nil {
			return err
		}
		dedups = append(dedups, d)

		d, err = uploadThroughServer(ctx, c, serverHome, runID, endpoint, fmt.Sprintf("server%d", i), src, e.SHA256)
		if err != nil {
			return err
		}
		viaServer = append(viaServer, d)
		fmt.Fprintf(c.Log, "  through the server %d: %.2f s (%.0f MB/s)\n", i+1, d.Seconds(), mb/d.Seconds())

		d, err = timing.Timed(func() error {
			r, _, err := s.Open(ctx, "bench", "checkpoints/step-1000.pt")
			if err != nil {
				return err
			}
			defer r.Close()
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != e.Size {
				err = fmt.Errorf("read back %d bytes, want %d", n, e.Size)
			}
			return err
		})
		if err != nil {
			return err
		}
		gets = append(gets, d)
	}
	cp := timing.Median(cps)
	add(fmt.Sprintf("`cp` of the %s file on this disk (reference)", size(c.Size)), cp, 0, "")
	if len(curls) > 0 {
		add("the file in one PUT by `curl -T` to the same server (no hashing: the server's own speed)", timing.Median(curls), cp, "")
	}
	add(fmt.Sprintf("**Put of the %s checkpoint to S3** (hash, parts in parallel, manifest)", size(c.Size)), timing.Median(puts), cp, "≥ 200 MB/s")
	add(fmt.Sprintf("**the %s checkpoint uploaded through the runlog server to S3** (the client's PUT, streamed on in parts, sha256 checked)", size(c.Size)), timing.Median(viaServer), cp, "≥ 200 MB/s")
	add("Put of the same content again, another run (deduplicated: hash only)", timing.Median(dedups), cp, "")
	add("Open and read it back, sha256 verified", timing.Median(gets), cp, "")

	fmt.Fprintf(c.Out, "\n%d cores (GOMAXPROCS %d), %s/%s, %s; %s; %d repetitions, medians\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), server, max(1, c.Repeat))
	fmt.Fprintln(c.Out, "| what | time | rate | × cp | goal |")
	fmt.Fprintln(c.Out, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(c.Out, "| %s | %s | %s | %s | %s |\n", r.what, r.time, r.rate, r.ratio, r.goal)
	}
	return nil
}

func size(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// writeRandom writes a file of n random bytes (a checkpoint does not
// compress either) and syncs it.
func writeRandom(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, n); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchRun makes a server home holding one run, for the uploads through
// the server to name.
func benchRun(dir string) (id, home string, err error) {
	home = filepath.Join(dir, "server-home")
	r, err := runlog.Init(runlog.Options{Home: home, Name: "upload-bench", DisableGit: true, URL: "-"})
	if err != nil {
		return "", "", err
	}
	return r.ID(), home, r.Finish(0)
}

// uploadThroughServer starts a runlog server on the home whose files go
// to a new prefix of the S3 server, and times one client upload of src
// to it.
func uploadThroughServer(ctx context.Context, c Config, home, runID, endpoint, prefix, src, sum string) (time.Duration, error) {
	st, err := objstore.New(objstore.Location{Bucket: "runlog-bench", Prefix: prefix, Endpoint: endpoint, Region: "us-east-1"},
		objstore.Options{PartSize: c.PartSize, Parallel: c.Parallel})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	srv, err := server.New(server.Options{Home: home, Addr: "127.0.0.1:0", Files: st, Logf: func(string, ...any) {}})
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	cl := &remote.Client{URL: "http://" + ln.Addr().String(), Agent: "runlog-bench"}
	return timing.Timed(func() error {
		res, err := cl.PutFile(ctx, runID, "checkpoints/step-1000.pt", src, sum)
		if err == nil && res.Deduplicated {
			err = fmt.Errorf("the upload through the server was deduplicated: nothing was measured")
		}
		return err
	})
}
