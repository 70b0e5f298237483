package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/sysmetrics"
	"github.com/runlog/runlog/internal/version"
)

// check is one line of `runlog doctor`.
type check struct {
	name   string
	ok     bool
	info   bool   // informational: not a failure either way
	detail string // what was found
	fix    string // what to do when it failed
}

func newDoctor(e *env) *cobra.Command {
	var configs []string
	var python string
	cmd := &cobra.Command{
		Use:   "doctor [--config FILE.json]...",
		Short: "Check that runlog, Python, the GPUs and your configs are ready to train",
		Long: `Check the set-up before a long training run: this runlog binary, the home
(writable, store healthy), the Python client (importable, a compatible
version), the GPUs, the configs given with --config (valid JSON, the fields
the reference training needs, data paths that exist), and the server named
by RUNLOG_URL when there is one. Each check prints ✓ or ✗ with how to fix
it, or · for what is only information; runlog doctor exits with 1 when any
fails. A Python client that is not installed is information, unless Python
is what the set-up trains with: a --config (the reference training is a
Python program) or a --python named.`,
		Example: `  runlog doctor
  runlog doctor --config examples/cs336/configs/tinystories_17m_baseline.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			checks := []check{{name: "runlog", ok: true, detail: "version " + version.String()}}
			checks = append(checks, e.checkHome(ctx)...)
			needPython := len(configs) > 0 || cmd.Flags().Changed("python")
			checks = append(checks, checkPython(ctx, python, needPython))
			checks = append(checks, checkGPUs(ctx))
			for _, c := range configs {
				checks = append(checks, checkConfig(c)...)
			}
			if c, ok := checkServer(); ok {
				checks = append(checks, c)
			}
			failed := 0
			for _, c := range checks {
				mark := "✓"
				switch {
				case c.info:
					mark = "·"
				case !c.ok:
					mark = "✗"
					failed++
				}
				fmt.Fprintf(e.stdout, "%s %-14s %s\n", mark, c.name, c.detail)
				if !c.ok && !c.info && c.fix != "" {
					fmt.Fprintf(e.stdout, "  %-14s → %s\n", "", c.fix)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&configs, "config", nil, "a training config to check (repeatable)")
	cmd.Flags().StringVar(&python, "python", "python3", "the Python interpreter training runs with")
	return cmd
}

func (e *env) checkHome(ctx context.Context) []check {
	home := e.homeDir()
	abs, _ := filepath.Abs(home)
	c := check{name: "home", detail: abs}
	if err := os.MkdirAll(filepath.Join(home, layout.RunsDir), 0o755); err != nil {
		c.detail, c.fix = err.Error(), "choose a writable folder with --home or RUNLOG_HOME"
		return []check{c}
	}
	probe, err := os.CreateTemp(home, ".doctor-*")
	if err != nil {
		c.detail, c.fix = fmt.Sprintf("%s is not writable: %v", abs, err), "choose a writable folder with --home or RUNLOG_HOME"
		return []check{c}
	}
	probe.Close()
	os.Remove(probe.Name())
	c.ok = true
	s := check{name: "store", detail: layout.Store(abs)}
	db, err := sqlite.Open(layout.Store(home))
	if err == nil {
		err = db.Check(ctx)
		db.Close()
	}
	if err != nil {
		s.detail = err.Error()
		s.fix = "move " + layout.Store(abs) + " away and run `runlog index --rebuild`: the run folders hold all the data"
	} else {
		s.ok = true
		s.detail += fmt.Sprintf(" (schema %d, healthy)", sqlite.Version())
	}
	return []check{c, s}
}

// checkPython checks that the Python client can be imported by the
// interpreter training uses, in a version that writes this runlog's format.
// Where it is not installed and the set-up does not need Python (needed
// false: a Go program, or any program `runlog run` tracks from its output),
// that is information, not a failure.
func checkPython(ctx context.Context, python string, needed bool) check {
	c := check{name: "python client"}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", "import sys, runlog; print(sys.version.split()[0], runlog.__version__)").CombinedOutput()
	if err != nil {
		if _, lerr := exec.LookPath(python); lerr != nil {
			c.detail, c.fix = python+" not found", "install Python 3.9 or later, or name the interpreter with --python"
		} else {
			c.detail, c.fix = "runlog is not importable by "+python, "pip install runlog (or pip install ./clients/python in a runlog checkout)"
		}
		if !needed {
			c.info = true
			c.detail = "not installed (" + c.detail + "): only Python training scripts need it — " + c.fix
		}
		return c
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		c.detail = strings.TrimSpace(string(out))
		return c
	}
	c.detail = fmt.Sprintf("runlog %s on Python %s", f[1], f[0])
	if !version.Compatible(f[1], version.String()) {
		c.fix = fmt.Sprintf("install the Python client of runlog %s: pip install 'runlog==%s.*' (or the wheel built with this binary)", version.String(), version.MajorMinor(version.String()))
		return c
	}
	c.ok = true
	return c
}

func checkGPUs(ctx context.Context) check {
	gpus, err := sysmetrics.QueryGPUs(ctx)
	if err != nil || len(gpus) == 0 {
		return check{name: "gpus", info: true, detail: "none found (nvidia-smi); training runs on the CPU"}
	}
	var names []string
	for _, g := range gpus {
		names = append(names, fmt.Sprintf("%d: %s (%.0f/%.0f MiB used)", g.Index, g.Name, g.MemUsed, g.MemTotal))
	}
	return check{name: "gpus", ok: true, detail: strings.Join(names, "; ")}
}

// referenceFields are the config fields the reference training
// (examples/cs336) needs, each with the names it accepts.
var referenceFields = [][]string{
	{"vocab_size"}, {"context_length"}, {"d_model"}, {"num_layers"}, {"num_heads"}, {"d_ff"},
	{"batch_size"}, {"max_steps", "total_steps"}, {"lr", "learning_rate", "max_lr"},
}

func checkConfig(path string) []check {
	c := check{name: "config", detail: path}
	data, err := os.ReadFile(path)
	if err != nil {
		c.detail, c.fix = err.Error(), "give the path of a JSON config file"
		return []check{c}
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		c.detail, c.fix = fmt.Sprintf("%s: not valid JSON: %v", path, err), "fix the JSON (a trailing comma? comments are not allowed)"
		return []check{c}
	}
	flat := map[string]any{}
	flattenAny("", cfg, flat)
	var missing []string
	for _, names := range referenceFields {
		found := false
		for _, n := range names {
			for k := range flat {
				if k == n || strings.HasSuffix(k, "."+n) {
					found = true
				}
			}
		}
		if !found {
			missing = append(missing, strings.Join(names, " or "))
		}
	}
	if len(missing) > 0 {
		c.detail = fmt.Sprintf("%s: missing %s", path, strings.Join(missing, ", "))
		c.fix = "add them: see examples/cs336/configs/tinystories_17m_baseline.json"
	} else {
		c.ok = true
		c.detail = path + ": valid, has every field the reference training needs"
	}
	checks := []check{c}
	var keys []string
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := flat[k].(string)
		last := k[strings.LastIndex(k, ".")+1:]
		if !ok || !(strings.HasSuffix(last, "_path") || strings.HasSuffix(last, "_dir") || strings.HasSuffix(last, "_file") || strings.HasSuffix(last, "_data")) {
			continue
		}
		p := s
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), s)
			if _, err := os.Stat(s); err == nil {
				p = s // relative to where training starts
			}
		}
		d := check{name: "data", detail: fmt.Sprintf("%s = %s", k, s)}
		if _, err := os.Stat(p); err != nil {
			d.fix = "create it, or correct " + k + " in " + path
			d.detail += " (not found)"
		} else {
			d.ok = true
		}
		checks = append(checks, d)
	}
	return checks
}

func flattenAny(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenAny(k, x, out)
		}
		return
	}
	out[prefix] = v
}

// checkServer checks the server named by RUNLOG_URL, if any.
func checkServer() (check, bool) {
	raw := os.Getenv("RUNLOG_URL")
	if raw == "" {
		return check{}, false
	}
	c := check{name: "server", detail: raw}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		c.detail, c.fix = fmt.Sprintf("RUNLOG_URL %q is not a URL", raw), "set RUNLOG_URL to http://host:port"
		return c, true
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443"}[u.Scheme]+map[bool]string{true: "80"}[u.Scheme != "https"])
	}
	conn, err := net.DialTimeout("tcp", host, 3*time.Second)
	if err != nil {
		c.detail, c.fix = fmt.Sprintf("%s: %v", raw, err), "start the server (runlog serve) or correct RUNLOG_URL; runs are kept locally meanwhile"
		return c, true
	}
	conn.Close()
	c.ok = true
	c.detail += " (reachable)"
	return c, true
}
