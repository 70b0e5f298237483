package compatbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runlog/runlog/internal/ingest"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/store/sqlite"
	"github.com/runlog/runlog/internal/tbimport"
)

// tbRow is one measured stage of a TensorBoard import.
type tbRow struct {
	What    string
	Points  int64
	Bytes   int64
	Seconds float64
}

// tbTags are the tags of the generated event file, logged in turn as a
// training loop's add_scalar calls are.
var tbTags = []string{"train/loss", "train/lr", "train/grad_norm", "val/loss"}

// writeEventFile writes an event file of n scalars in simple_value form,
// as torch.utils.tensorboard writes them, and returns its size.
func writeEventFile(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var rec, ev []byte
	for i := range n {
		step := int64(i / len(tbTags))
		ev = tbimport.AppendScalarEvent(ev[:0], 1764201600+float64(i)*0.001, step, tbTags[i%len(tbTags)], float32(4/(1+float64(step)/1000)))
		rec = tbimport.AppendRecord(rec[:0], ev)
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return fi.Size(), f.Close()
}

func benchTensorBoard(ctx context.Context, c Config, work string) ([]tbRow, error) {
	points, python := c.TBPoints, c.TBPython
	dir := filepath.Join(work, "tb", "logs", "run1")
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, "events.out.tfevents.1764201600.bench-host.1.0")
	size, err := writeEventFile(file, points)
	if err != nil {
		return nil, err
	}
	var rows []tbRow
	dropCache(file)

	// Reading and decoding only: what TensorBoard's loaders do.
	start := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	var n int64
	_, err = tbimport.ReadScalars(f, file, func(tbimport.Scalar) { n++ })
	f.Close()
	if err != nil {
		return nil, err
	}
	rows = append(rows, tbRow{"read and decode the event file (what TensorBoard's loaders measure)", n, size, time.Since(start).Seconds()})

	// The import: run.log written and synced.
	home := filepath.Join(work, "tb", "home")
	start = time.Now()
	res, err := tbimport.Import(ctx, home, filepath.Join(work, "tb", "logs"), tbimport.Options{Project: "bench"})
	if err != nil {
		return nil, err
	}
	imported := time.Since(start)
	rows = append(rows, tbRow{"import: read, decode, write run.log (synced)", res.Points, size, imported.Seconds()})

	// Indexing into the store, as `runlog import tensorboard` does next.
	st, err := sqlite.Open(layout.Store(home))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	start = time.Now()
	ix, err := ingest.Home(ctx, st, home, ingest.Options{})
	if err != nil {
		return nil, err
	}
	indexed := time.Since(start)
	rows = append(rows, tbRow{"index run.log into the store (SQLite chunks)", ix.Points, 0, indexed.Seconds()})
	rows = append(rows, tbRow{"runlog import tensorboard, end to end (import + index)", res.Points, size, (imported + indexed).Seconds()})

	// Importing again: nothing new to read.
	start = time.Now()
	again, err := tbimport.Import(ctx, home, filepath.Join(work, "tb", "logs"), tbimport.Options{Project: "bench"})
	if err != nil {
		return nil, err
	}
	if again.Points != 0 {
		return nil, fmt.Errorf("a second import added %d points", again.Points)
	}
	rows = append(rows, tbRow{"import again (idempotent: nothing new)", 0, 0, time.Since(start).Seconds()})

	if python != "" {
		row, err := tensorBoardLoader(ctx, work, python, file)
		if err != nil {
			fmt.Fprintf(c.Log, "TensorBoard's loader: %v\n", err)
		} else {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// tensorBoardLoader times TensorBoard's own Python loader (EventAccumulator)
// on the first 150 MB of the file, the size of the published anchor.
func tensorBoardLoader(ctx context.Context, work, python, file string) (tbRow, error) {
	dir := filepath.Join(work, "tb", "python", "run1")
	os.MkdirAll(dir, 0o755)
	part := filepath.Join(dir, filepath.Base(file))
	src, err := os.Open(file)
	if err != nil {
		return tbRow{}, err
	}
	defer src.Close()
	// Cut at a record boundary.
	r := tbimport.NewReader(bufio.NewReaderSize(src, 1<<20), file, 0)
	for r.Offset() < 150<<20 {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	data := make([]byte, r.Offset())
	if _, err := src.ReadAt(data, 0); err != nil {
		return tbRow{}, err
	}
	if err := os.WriteFile(part, data, 0o644); err != nil {
		return tbRow{}, err
	}
	script := `
import sys, time
from tensorboard.backend.event_processing import event_accumulator as ea
t = time.time()
acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0})
acc.Reload()
n = sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])
print(n, time.time() - t)
`
	out, err := exec.CommandContext(ctx, python, "-c", script, dir).Output()
	if err != nil {
		return tbRow{}, fmt.Errorf("%v (is tensorboard installed in %s?)", err, python)
	}
	var n int64
	var secs float64
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n, &secs); err != nil {
		return tbRow{}, fmt.Errorf("unexpected output %q", out)
	}
	return tbRow{"TensorBoard's Python loader (EventAccumulator), first 150 MB", n, int64(len(data)), secs}, nil
}

// dropCache asks the kernel to forget the file's pages, so that reading it
// is not only reading memory; it works only as root, and is only advice.
func dropCache(path string) {
	if f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0); err == nil {
		exec.Command("sync").Run()
		f.WriteString("1")
		f.Close()
	}
}

func printTensorBoard(w io.Writer, rows []tbRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "TensorBoard import: one event file of %d scalars (%s), simple_value events as torch.utils.tensorboard writes them\n\n", rows[0].Points, sizeText(rows[0].Bytes))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tpoints\tseconds\tM points/s\tMB/s\t")
	for _, r := range rows {
		rate, mbs := "-", "-"
		if r.Points > 0 && r.Seconds > 0 {
			rate = fmt.Sprintf("%.1f", float64(r.Points)/r.Seconds/1e6)
		}
		if r.Bytes > 0 && r.Seconds > 0 {
			mbs = fmt.Sprintf("%.0f", float64(r.Bytes)/r.Seconds/1e6)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%s\t\n", r.What, r.Points, r.Seconds, rate, mbs)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func sizeText(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
