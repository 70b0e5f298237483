package runlog_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/runfmt"
)

// logContent is what a run.log holds, decoded for assertions.
type logContent struct {
	types   []runfmt.Type
	seqs    []uint64
	points  map[string][]point // key -> points in log order
	status  runfmt.Status
	header  runfmt.Header
	configs []map[string]any
	arts    []runfmt.Artifact
	torn    int64
	skipped int
}

type point struct {
	step int64
	v    float64
}

func readLog(t *testing.T, path string) logContent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := runfmt.NewReader(bytes.NewReader(data), path)
	c := logContent{points: map[string][]point{}}
	keys := map[uint32]string{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c.types = append(c.types, rec.Type)
		c.seqs = append(c.seqs, rec.Seq)
		switch rec.Type {
		case runfmt.TypeHeader:
			rec.DecodeJSON(&c.header)
		case runfmt.TypeKey:
			id, name, err := rec.Key()
			if err != nil {
				t.Fatal(err)
			}
			keys[id] = name
		case runfmt.TypeMetrics:
			m, err := rec.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < m.Len(); i++ {
				id, v := m.At(i)
				name, ok := keys[id]
				if !ok {
					t.Fatalf("metrics record %d uses undefined key id %d", rec.Seq, id)
				}
				c.points[name] = append(c.points[name], point{m.Step, v})
			}
		case runfmt.TypeStatus:
			rec.DecodeJSON(&c.status)
		case runfmt.TypeConfig:
			var cfg map[string]any
			rec.DecodeJSON(&cfg)
			c.configs = append(c.configs, cfg)
		case runfmt.TypeArtifact:
			var a runfmt.Artifact
			rec.DecodeJSON(&a)
			c.arts = append(c.arts, a)
		}
	}
	c.torn, c.skipped = r.Torn(), len(r.Skipped())
	return c
}

func TestLogAndFinish(t *testing.T) {
	home := t.TempDir()
	run, err := runlog.Init(runlog.Options{
		Home: home, Project: "tiny", Name: "baseline", Tags: []string{"a", "b"},
		Config: map[string]any{"lr": 3e-4, "model": map[string]any{"d": 64}},
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, run.Log(map[string]float64{"train_loss": 3.5, "learning_rate": 1e-4}))
	must(t, run.Log(map[string]float64{"train_loss": 3.25}))
	must(t, run.LogStep(10, map[string]float64{"val_loss": math.NaN(), "val/ünï code": math.Inf(-1)}))
	must(t, run.Log(map[string]float64{"train_loss": math.Inf(1)}))
	must(t, run.UpdateConfig(map[string]any{"batch": 32}))
	must(t, run.SetSummary("note", "ok"))
	must(t, run.DefineMetric("val_loss", runlog.Minimize))
	must(t, run.Alert("loss is NaN", "at step 10", "error"))
	must(t, run.Finish(0))
	if err := run.Log(map[string]float64{"x": 1}); !errors.Is(err, runlog.ErrFinished) {
		t.Errorf("Log after Finish: %v, want ErrFinished", err)
	}

	c := readLog(t, filepath.Join(run.Dir(), "run.log"))
	wantTrain := []point{{0, 3.5}, {1, 3.25}, {11, math.Inf(1)}}
	if got := c.points["train_loss"]; fmt.Sprint(got) != fmt.Sprint(wantTrain) {
		t.Errorf("train_loss = %v, want %v", got, wantTrain)
	}
	if got := c.points["val_loss"]; len(got) != 1 || !math.IsNaN(got[0].v) || got[0].step != 10 {
		t.Errorf("val_loss = %v, want NaN at 10", got)
	}
	if got := c.points["val/ünï code"]; len(got) != 1 || !math.IsInf(got[0].v, -1) {
		t.Errorf("unicode key = %v", got)
	}
	if c.status.Status != "finished" || c.status.ExitCode == nil || *c.status.ExitCode != 0 {
		t.Errorf("status = %+v", c.status)
	}
	if c.header.Project != "tiny" || c.header.Name != "baseline" || c.header.ID != run.ID() {
		t.Errorf("header = %+v", c.header)
	}
	for i, s := range c.seqs {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v are not 1, 2, 3, …", c.seqs)
		}
	}
	if len(c.configs) != 2 || c.configs[1]["batch"] != 32.0 || c.configs[1]["lr"] != 3e-4 {
		t.Errorf("configs = %v", c.configs)
	}
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(run.Dir(), "config.json"))
	must(t, err)
	must(t, json.Unmarshal(data, &cfg))
	if cfg["batch"] != 32.0 {
		t.Errorf("config.json = %s", data)
	}
}

func TestInvalidInput(t *testing.T) {
	run, err := runlog.Init(runlog.Options{Home: t.TempDir()})
	must(t, err)
	defer run.Finish(0)
	tests := []struct {
		name string
		err  error
	}{
		{"negative step", run.LogStep(-1, map[string]float64{"x": 1})},
		{"empty key", run.Log(map[string]float64{"": 1})},
		{"long key", run.Log(map[string]float64{strings.Repeat("k", 300): 1})},
		{"control char", run.Log(map[string]float64{"a\nb": 1})},
		{"bad goal", run.DefineMetric("x", "up")},
		{"huge config", run.UpdateConfig(map[string]any{"blob": strings.Repeat("x", 5<<20)})},
		{"bad artifact kind", run.LogArtifact("x", runlog.Artifact{Kind: "weights"})},
		{"unencodable summary", run.SetSummary("f", func() {})},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, runlog.ErrInvalid) && tt.name != "unencodable summary" {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, tt.err)
		}
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		} else if tt.name == "long key" && !strings.Contains(tt.err.Error(), "256") {
			t.Errorf("%s: error %q does not state the limit", tt.name, tt.err)
		}
	}
	if _, err := runlog.Init(runlog.Options{Home: t.TempDir(), ID: "../etc"}); err == nil {
		t.Error("Init accepted id ../etc")
	}
	if _, err := runlog.Init(runlog.Options{Home: t.TempDir(), Tags: []string{"ok", "bad\x00tag"}}); err == nil {
		t.Error("Init accepted a tag with a NUL")
	}
}

func TestConcurrentLoggersLoseNothing(t *testing.T) {
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), FlushInterval: 5 * time.Millisecond})
	must(t, err)
	const workers, n = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("worker%d", w)
			for i := range n {
				must(t, run.LogStep(int64(i), map[string]float64{key: float64(i), "shared": float64(w)}))
			}
		}()
	}
	wg.Wait()
	must(t, run.Finish(0))
	c := readLog(t, filepath.Join(run.Dir(), "run.log"))
	for w := range workers {
		pts := c.points[fmt.Sprintf("worker%d", w)]
		if len(pts) != n {
			t.Fatalf("worker%d: %d points, want %d", w, len(pts), n)
		}
		for i, p := range pts {
			if p.step != int64(i) || p.v != float64(i) {
				t.Fatalf("worker%d point %d = %+v", w, i, p)
			}
		}
	}
	if len(c.points["shared"]) != workers*n {
		t.Errorf("shared: %d points", len(c.points["shared"]))
	}
}

func TestResume(t *testing.T) {
	home := t.TempDir()
	run, err := runlog.Init(runlog.Options{Home: home, ID: "resume-me", Config: map[string]any{"lr": 1.0}})
	must(t, err)
	for range 5 {
		must(t, run.Log(map[string]float64{"loss": 1}))
	}
	must(t, run.Finish(1))

	if _, err := runlog.Init(runlog.Options{Home: home, ID: "resume-me"}); !errors.Is(err, runlog.ErrExists) {
		t.Fatalf("Init of an existing id without Resume: %v, want ErrExists", err)
	}
	if _, err := runlog.Init(runlog.Options{Home: home, ID: "nope", Resume: "must"}); !errors.Is(err, runlog.ErrNotFound) {
		t.Fatalf("Resume must of a missing run: %v, want ErrNotFound", err)
	}

	// Tear the tail as a crash would, then resume.
	path := filepath.Join(home, "runs", "resume-me", "run.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	f.Write([]byte{40, 0, 0, 0, 1, 2})
	f.Close()

	run, err = runlog.Init(runlog.Options{Home: home, ID: "resume-me", Resume: "allow", Config: map[string]any{"batch": 2}})
	must(t, err)
	must(t, run.Rewind(2))
	must(t, run.Log(map[string]float64{"loss": 0.5}))
	must(t, run.Finish(0))

	c := readLog(t, path)
	if c.torn != 0 || c.skipped != 0 {
		t.Errorf("after resume: torn %d, skipped %d; the torn tail should have been cut", c.torn, c.skipped)
	}
	pts := c.points["loss"]
	if len(pts) != 6 || pts[5].step != 3 {
		t.Errorf("loss points %v: want 6, the last at step 3", pts)
	}
	var resumes, rewinds int
	for _, ty := range c.types {
		switch ty {
		case runfmt.TypeResume:
			resumes++
		case runfmt.TypeRewind:
			rewinds++
		}
	}
	if resumes != 1 || rewinds != 1 {
		t.Errorf("%d resume and %d rewind records, want 1 and 1", resumes, rewinds)
	}
	last := c.configs[len(c.configs)-1]
	if last["lr"] != 1.0 || last["batch"] != 2.0 {
		t.Errorf("config after resume %v, want lr kept and batch added", last)
	}
	for i := 1; i < len(c.seqs); i++ {
		if c.seqs[i] != c.seqs[i-1]+1 {
			t.Fatalf("seqs not consecutive across resume: %v", c.seqs)
		}
	}
}

func TestArtifacts(t *testing.T) {
	run, err := runlog.Init(runlog.Options{Home: t.TempDir()})
	must(t, err)
	inside := filepath.Join(run.Dir(), "checkpoints", "step_10.ckpt")
	must(t, os.MkdirAll(filepath.Dir(inside), 0o755))
	must(t, os.WriteFile(inside, []byte("weights"), 0o644))
	must(t, run.LogArtifact(inside, runlog.Artifact{Kind: "checkpoint", Step: 10, Metadata: map[string]any{"val_loss": 2.5}}))
	outside := filepath.Join(t.TempDir(), "model.bin")
	must(t, os.WriteFile(outside, []byte("model"), 0o644))
	must(t, run.LogArtifact(outside, runlog.Artifact{Kind: "model", Step: -1}))
	must(t, os.WriteFile(outside, []byte("overwritten"), 0o644))
	must(t, run.Finish(0))

	c := readLog(t, filepath.Join(run.Dir(), "run.log"))
	if len(c.arts) != 2 {
		t.Fatalf("%d artifacts", len(c.arts))
	}
	a := c.arts[0]
	sum := sha256.Sum256([]byte("weights"))
	if a.Path != "checkpoints/step_10.ckpt" || a.Size != 7 || *a.Step != 10 || a.Metadata["val_loss"] != 2.5 ||
		a.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("checkpoint artifact %+v", a)
	}
	b := c.arts[1]
	copied, err := os.ReadFile(filepath.Join(run.Dir(), b.Path))
	must(t, err)
	if b.Path != "artifacts/model.bin" || string(copied) != "model" || b.Step != nil {
		t.Errorf("model artifact %+v with content %q", b, copied)
	}
}

// failingFile fails every write, as a full disk does.
type failingFile struct{ writes int }

func (f *failingFile) Write(p []byte) (int, error) { f.writes++; return 0, syscall.ENOSPC }
func (f *failingFile) Sync() error                 { return nil }
func (f *failingFile) Close() error                { return nil }

func TestFullDiskNeverReachesTraining(t *testing.T) {
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), FlushInterval: time.Millisecond})
	must(t, err)
	ff := &failingFile{}
	runlog.SetFileForTest(run, ff)
	for i := range 2000 {
		if err := run.Log(map[string]float64{"loss": float64(i)}); err != nil {
			t.Fatalf("Log returned %v on a full disk", err)
		}
		if i%500 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	err = run.Finish(0)
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "could not be written") {
		t.Fatalf("Finish on a full disk: %v, want an error naming the cause and the loss", err)
	}
	if ff.writes < 2 {
		t.Errorf("writer tried %d times; it should retry", ff.writes)
	}
}

// TestKillLosesAtMostOneFlush runs a child that logs and is killed with
// SIGKILL; everything logged more than a flush interval before the kill
// must be in run.log.
func TestKillLosesAtMostOneFlush(t *testing.T) {
	if os.Getenv("RUNLOG_TEST_CHILD") == "kill" {
		run, err := runlog.Init(runlog.Options{Home: os.Getenv("RUNLOG_HOME"), ID: "killed", FlushInterval: 20 * time.Millisecond})
		if err != nil {
			panic(err)
		}
		for i := range 1000 {
			run.Log(map[string]float64{"loss": float64(i)})
		}
		time.Sleep(200 * time.Millisecond) // ten flush intervals
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillLosesAtMostOneFlush$")
	cmd.Env = append(os.Environ(), "RUNLOG_TEST_CHILD=kill", "RUNLOG_HOME="+home)
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child did not die by signal: %v", err)
	}
	c := readLog(t, filepath.Join(home, "runs", "killed", "run.log"))
	if n := len(c.points["loss"]); n != 1000 {
		t.Fatalf("%d of 1000 points survived the kill", n)
	}
	if c.status.Status != "" {
		t.Errorf("a killed run has status %q; it should have none", c.status.Status)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLog4(b *testing.B) {
	run, err := runlog.Init(runlog.Options{Home: b.TempDir()})
	must(b, err)
	values := map[string]float64{"train_loss": 2.5, "learning_rate": 3e-4, "tokens_per_sec": 8500, "grad_norm": 1.1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run.Log(values)
	}
	b.StopTimer()
	must(b, run.Finish(0))
}

func TestSupervisorOptions(t *testing.T) {
	run, err := runlog.Init(runlog.Options{Home: t.TempDir(), Command: []string{"python", "train.py"},
		Env: map[string]string{"python": "3.11.7", "torch": "2.5.1"}, DisableGit: true})
	must(t, err)
	if err := run.FinishStatus("exploded", 1, ""); !errors.Is(err, runlog.ErrInvalid) {
		t.Errorf("FinishStatus with an unknown status: %v", err)
	}
	must(t, run.FinishStatus("killed", 143, "stopped by SIGTERM"))
	c := readLog(t, filepath.Join(run.Dir(), "run.log"))
	if strings.Join(c.header.Command, " ") != "python train.py" || c.header.Env["torch"] != "2.5.1" || c.header.Env["go"] == "" || c.header.Git != nil {
		t.Errorf("header %+v", c.header)
	}
	if c.status.Status != "killed" || *c.status.ExitCode != 143 || c.status.Error != "stopped by SIGTERM" {
		t.Errorf("status %+v", c.status)
	}
}

// TestAttach starts a client the way runlog run starts a program: it writes
// a log of its own in the runner's run folder, starting from its config.
func TestAttach(t *testing.T) {
	home := t.TempDir()
	parent, err := runlog.Init(runlog.Options{Home: home, Name: "runner", DisableGit: true})
	must(t, err)
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"lr": 0.001, "steps": 10}`), 0o644)
	t.Setenv("RUNLOG_HOME", home)
	t.Setenv(runlog.EnvRunID, parent.ID())
	t.Setenv(runlog.EnvConfig, cfg)
	child, err := runlog.Init(runlog.Options{Name: "ignored", Config: map[string]any{"steps": 20}})
	must(t, err)
	if child.ID() != parent.ID() || child.Dir() != parent.Dir() {
		t.Fatalf("attached to %s in %s, want run %s", child.ID(), child.Dir(), parent.ID())
	}
	must(t, child.Log(map[string]float64{"loss": 1}))
	must(t, child.Finish(0))
	must(t, parent.Finish(0))
	logs, _ := filepath.Glob(filepath.Join(parent.Dir(), "run.go-*.log"))
	if len(logs) != 1 {
		t.Fatalf("attached logs %v, want one", logs)
	}
	c := readLog(t, logs[0])
	if !c.header.Attach || c.header.ID != parent.ID() || len(c.points["loss"]) != 1 {
		t.Errorf("attached log: header %+v, points %v", c.header, c.points)
	}
	if last := c.configs[len(c.configs)-1]; last["lr"] != 0.001 || last["steps"] != 20.0 {
		t.Errorf("config %v: want the runner's, updated with the program's", last)
	}
	t.Setenv(runlog.EnvRunID, "no-such-run")
	if _, err := runlog.Init(runlog.Options{}); err == nil {
		t.Error("attached to a run that does not exist")
	}
}
