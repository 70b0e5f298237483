package teambench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runlog/runlog"
	"github.com/runlog/runlog/internal/bench/pgsize"
	"github.com/runlog/runlog/internal/bench/timing"
	"github.com/runlog/runlog/internal/layout"
	"github.com/runlog/runlog/internal/remote"
	"github.com/runlog/runlog/internal/runfmt"
	"github.com/runlog/runlog/internal/store/postgres"
)

// The client's backoff while the server is unreachable or overloaded
// (the root package's streamer): 0.5 s doubling to 30 s.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// runLive runs the live load (Config.Live) on a new database of admin's
// server and prints its tables.
func (c Config) runLive(ctx context.Context, admin, nginx string) error {
	steps := int(math.Round(float64(c.LiveSeconds) * c.LiveHz))
	if c.LiveRuns < 1 || c.LiveKeys < 1 || steps < 1 {
		return fmt.Errorf("live load: %d runs × %d keys for %d s at %g Hz: nothing to send", c.LiveRuns, c.LiveKeys, c.LiveSeconds, c.LiveHz)
	}
	tm, err := startTeam(ctx, admin, nginx, fmt.Sprintf("runlog_team_live_%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer tm.Close()
	keys := make([]string, c.LiveKeys)
	for k := range keys {
		keys[k] = fmt.Sprintf("metric_%03d", k)
	}
	keys[0] = "train_loss"
	// Each run of a lab is a process of its own with a connection of its
	// own: the transport keeps one idle connection per run.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = c.LiveRuns+16, c.LiveRuns+16
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: tr} // the streamer's timeout

	period := time.Duration(float64(time.Second) / c.LiveHz)
	c.progress("live load: %d runs × %d keys, a batch a run every %s for %d s (%d steps a run), through %s…",
		c.LiveRuns, c.LiveKeys, timing.Short(period), c.LiveSeconds, steps, tm.URL)
	rec := &recorder{errs: map[string]int{}, sample: map[string]string{}}
	postmaster := postmasterPID(ctx, tm.DSN)
	cpu0 := sampleCPU(postmaster)
	start := time.Now().Add(100 * time.Millisecond)
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	errs := make([]error, c.LiveRuns)
	for r := range c.LiveRuns {
		phase := time.Duration(rng.Int64N(int64(period))) // runs are not in lock step
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = c.liveRun(ctx, rec, &remote.Client{URL: tm.URL, Agent: "runlog-go/" + runlog.Version, HTTP: hc},
				r, keys, steps, start.Add(phase), period, seed)
		}()
	}
	stopProgress := c.liveProgress(rec, start)
	wg.Wait()
	stopProgress()
	took := time.Since(start)
	cpu1 := sampleCPU(postmaster)
	if err := errors.Join(errs...); err != nil {
		return err
	}

	db, err := postgres.Open(ctx, tm.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	sz, err := measureTeam(ctx, db)
	if err != nil {
		return fmt.Errorf("measure PostgreSQL: %w", err)
	}
	c.progress("reading every series back to encode it in full chunks…")
	full, err := pgsize.FullChunks(ctx, db, 4)
	if err != nil {
		return err
	}
	// The acknowledgments are not taken on trust: every point acknowledged
	// is in the store, and no other (a batch whose answer was lost may be
	// there unacknowledged, hence ≥ when there were errors).
	if full.Series != c.LiveRuns*c.LiveKeys || full.Points < rec.points || (len(rec.errs) == 0 && full.Points != rec.points) {
		return fmt.Errorf("PostgreSQL holds %d series and %d points; %d series and %d points were acknowledged",
			full.Series, full.Points, c.LiveRuns*c.LiveKeys, rec.points)
	}

	fmt.Fprintf(c.Out, "| live load through nginx to 2 replicas into PostgreSQL | requests | points | acknowledged points/s | ack latency p50 | p90 | p99 | max | errors | goal |\n")
	fmt.Fprintln(c.Out, "|---|---|---|---|---|---|---|---|---|---|")
	lat := slices.Sorted(slices.Values(rec.lat))
	fmt.Fprintf(c.Out, "| %d runs × %d keys, a batch a run every %s (one point of each key) for %d s | %s | %s | %s | %s | %s | %s | %s | %s | p99 ≤ 1 s |\n",
		c.LiveRuns, c.LiveKeys, timing.Short(period), c.LiveSeconds, timing.Count(rec.requests), timing.Count(int(rec.points)),
		timing.Count(int(float64(rec.points)/took.Seconds())),
		timing.Short(quantile(lat, 0.5)), timing.Short(quantile(lat, 0.9)), timing.Short(quantile(lat, 0.99)), timing.Short(quantile(lat, 1)),
		rec.errorsText())
	lag := slices.Sorted(slices.Values(rec.lag))
	fmt.Fprintf(c.Out, "\nFrom a point's logging to its acknowledgment (a batch waiting behind a slow one included): p50 %s, p99 %s, max %s.\n",
		timing.Short(quantile(lag, 0.5)), timing.Short(quantile(lag, 0.99)), timing.Short(quantile(lag, 1)))
	for _, what := range slices.Sorted(maps.Keys(rec.sample)) {
		fmt.Fprintf(c.Out, "A failed request (%s): %s\n", what, rec.sample[what])
	}
	fmt.Fprintf(c.Out, "The load took %s; load average at the end %s. %s\n", timing.Short(took), loadavg(), cpu1.since(cpu0, rec.requests-rec.failures()))
	fmt.Fprintln(c.Out)
	printSizes(c.Out, sz, full)
	return nil
}

// liveRun is one run of the live load: the run's log encoded as the Go
// client encodes it (a header, the key records, a metrics record a step,
// a status record at the end), each step's batch sent at its time and
// acknowledged before the next is sent, as the client's streamer does.
// A batch the server did not take is sent again with the steps logged
// since, after the streamer's backoff when the error may pass.
func (c Config) liveRun(ctx context.Context, rec *recorder, cl *remote.Client, r int, keys []string, steps int, start time.Time, period time.Duration, seed uint64) error {
	id := layout.NewID()
	host, _ := os.Hostname()
	enc := runfmt.NewEncoder(0, nil)
	if err := enc.Begin(runfmt.Header{Format: 1, ID: id, Name: fmt.Sprintf("live-%04d", r), Project: "live",
		Time: unix(start), PID: os.Getpid(), Host: host, Writer: "runlog-go/" + runlog.Version}); err != nil {
		return err
	}
	ids := make([]uint32, len(keys))
	for k, key := range keys {
		var err error
		if ids[k], err = enc.Key(key); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(seed, uint64(r)))
	noise := make([]float64, len(keys))
	var (
		acked    int64       // bytes of the log the server holds
		pending  []byte      // bytes sent, or to send, that it does not
		waiting  []time.Time // when each step in pending was logged
		next     int         // the next step to log
		backoff  time.Duration
		retry    time.Time
		finished bool
		spare    []byte
	)
	for next < steps || len(pending) > 0 {
		// After a failure, the batch is sent again once the backoff has
		// passed, with what was logged since; else at the next step.
		wake := retry
		if len(pending) == 0 {
			wake = start.Add(time.Duration(next) * period)
		}
		if d := time.Until(wake); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		now := time.Now()
		for ; next < steps; next++ {
			at := start.Add(time.Duration(next) * period)
			if at.After(now) {
				break
			}
			// A training curve: float32 values, as a framework's tensors
			// give them, falling with the step, with noise.
			x := float64(next) / float64(steps)
			enc.StartMetrics(int64(next), unix(at))
			for k := range keys {
				noise[k] = 0.9*noise[k] + 0.1*rng.NormFloat64()
				enc.Pair(ids[k], float64(float32(1/(1+3*x+float64(k)/10)+0.02*noise[k])))
			}
			enc.FinishMetrics()
			waiting = append(waiting, at)
		}
		if next == steps && !finished {
			exit := 0
			if err := enc.JSON(runfmt.TypeStatus, runfmt.Status{Status: runfmt.StatusFinished, Time: unix(now), ExitCode: &exit}); err != nil {
				return err
			}
			finished = true
		}
		taken := enc.Take(spare)
		pending = append(pending, taken...)
		spare = taken[:0]
		sent := time.Now()
		size, err := cl.Append(ctx, id, layout.RunLogFile, acked, pending)
		took := time.Since(sent)
		if err != nil {
			var ce *remote.ConflictError
			rec.failed(err)
			switch {
			case errors.As(err, &ce):
				// Only a server that lost bytes says so: this log is
				// held nowhere else.
				return fmt.Errorf("run %s: %w", id, err)
			case ctx.Err() != nil:
				return ctx.Err()
			case remote.Transient(err):
				backoff = min(max(2*backoff, minBackoff), maxBackoff)
				retry = time.Now().Add(backoff)
				continue
			}
			return fmt.Errorf("run %s: %w", id, err)
		}
		if size != acked+int64(len(pending)) {
			return fmt.Errorf("run %s: the server holds %d bytes after a batch that ends at %d", id, size, acked+int64(len(pending)))
		}
		rec.acked(took, time.Now(), waiting, len(keys))
		acked, pending, waiting, backoff, retry = size, pending[:0], waiting[:0], 0, time.Time{}
	}
	return nil
}

// unix returns t in seconds since the epoch, as records hold times.
func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// recorder collects the acknowledgments of every run.
type recorder struct {
	mu       sync.Mutex
	lat      []time.Duration   // send to 2xx of each acknowledged request
	lag      []time.Duration   // logging to acknowledgment of each step
	requests int               // sent, acknowledged or not
	points   int64             // acknowledged
	errs     map[string]int    // failed requests by status
	sample   map[string]string // an error message of each status
}

func (r *recorder) acked(took time.Duration, at time.Time, steps []time.Time, keys int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.lat = append(r.lat, took)
	for _, t := range steps {
		r.lag = append(r.lag, at.Sub(t))
	}
	r.points += int64(len(steps) * keys)
}

func (r *recorder) failed(err error) {
	what := "network"
	var se *remote.StatusError
	var ce *remote.ConflictError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		what = strconv.Itoa(se.Code)
	case errors.As(err, &ce):
		what = "409"
	case errors.As(err, &ne) && ne.Timeout():
		what = "timeout"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.errs[what]++
	if _, ok := r.sample[what]; !ok {
		r.sample[what] = err.Error()
	}
}

// failures returns the number of failed requests.
func (r *recorder) failures() int {
	n := 0
	for _, k := range r.errs {
		n += k
	}
	return n
}

// errorsText writes the failed requests by status, or "none".
func (r *recorder) errorsText() string {
	if len(r.errs) == 0 {
		return "none"
	}
	var parts []string
	for _, what := range slices.Sorted(maps.Keys(r.errs)) {
		parts = append(parts, fmt.Sprintf("%s: %d", what, r.errs[what]))
	}
	return strings.Join(parts, ", ")
}

// liveProgress prints, every 30 s of the load, the requests acknowledged
// in that stretch and their latency's p99, until the function it returns
// is called.
func (c Config) liveProgress(rec *recorder, start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		from, seen := 0, 0
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			rec.mu.Lock()
			lat := slices.Sorted(slices.Values(rec.lat[from:]))
			from = len(rec.lat)
			errs := 0
			for _, n := range rec.errs {
				errs += n
			}
			points := rec.points
			rec.mu.Unlock()
			c.progress("  %s: %s requests acknowledged in the last 30 s, p99 %s, max %s; %s points in all; %d failed requests in all (%d new); load average %s",
				timing.Short(time.Since(start).Round(time.Second)), timing.Count(len(lat)), timing.Short(quantile(lat, 0.99)), timing.Short(quantile(lat, 1)),
				timing.Count(int(points)), errs, errs-seen, loadavg())
			seen = errs
		}
	}()
	return func() { close(done); wg.Wait() }
}

// quantile returns the q-th quantile (0 to 1) of sorted, 0 for none: the
// smallest value at least a fraction q of them do not exceed.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// teamSizes is what PostgreSQL holds after the live load.
type teamSizes struct {
	database int64   // pg_database_size: every table, the catalogs, the free space map
	tables   []table // each of the store's tables, largest first
	encoded  int64   // bytes of encoded points in chunk and tail rows
}

// table is one table's size with its indexes and TOAST.
type table struct {
	name       string
	total      int64 // pg_total_relation_size
	live, dead int64
}

// pointTables hold the points: a series row with its statistics and
// cursors, its full chunks, and its tail of small chunks.
var pointTables = []string{"series", "chunks", "tail"}

// logTables hold the clients' logs byte for byte (a team server's truth).
var logTables = []string{"log_segments", "log_streams"}

func measureTeam(ctx context.Context, db *postgres.DB) (teamSizes, error) {
	var s teamSizes
	err := db.Pool().QueryRow(ctx, `SELECT pg_database_size(current_database()),
		(SELECT coalesce(sum(octet_length(data)), 0)::bigint FROM chunks) + (SELECT coalesce(sum(octet_length(data)), 0)::bigint FROM tail)`).
		Scan(&s.database, &s.encoded)
	if err != nil {
		return s, err
	}
	rows, err := db.Pool().Query(ctx, `SELECT relname, pg_total_relation_size(relid), n_live_tup, n_dead_tup
		FROM pg_stat_user_tables ORDER BY 2 DESC, 1`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.total, &t.live, &t.dead); err != nil {
			return s, err
		}
		s.tables = append(s.tables, t)
	}
	return s, rows.Err()
}

// sum returns the size of the named tables, and of all others with
// others.
func (s teamSizes) sum(names []string, others bool) int64 {
	var n int64
	for _, t := range s.tables {
		if slices.Contains(names, t.name) != others {
			n += t.total
		}
	}
	return n
}

// printSizes writes PostgreSQL's sizes beside the points they hold.
func printSizes(w io.Writer, s teamSizes, full pgsize.Full) {
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	per := func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/float64(full.Bytes)) }
	fmt.Fprintf(w, "| PostgreSQL after the load (%s series, %s points) | size | / the points in full chunks | goal |\n", timing.Count(full.Series), timing.Count(int(full.Points)))
	fmt.Fprintln(w, "|---|---|---|---|")
	all := slices.Concat(pointTables, logTables)
	fmt.Fprintf(w, "| the database (pg_database_size: every table, PostgreSQL's catalogs) | %s | %s | ≤ 2 |\n", mb(s.database), per(s.database))
	fmt.Fprintf(w, "| the store's point tables: %s (heap, TOAST, indexes) | %s | %s | |\n", strings.Join(pointTables, ", "), mb(s.sum(pointTables, false)), per(s.sum(pointTables, false)))
	fmt.Fprintf(w, "| the store's other tables (runs, streams, stream_keys, segments…) | %s | %s | |\n", mb(s.sum(all, true)), per(s.sum(all, true)))
	fmt.Fprintf(w, "| the clients' logs: %s (heap, TOAST, indexes) | %s | %s | |\n", strings.Join(logTables, ", "), mb(s.sum(logTables, false)), per(s.sum(logTables, false)))
	fmt.Fprintf(w, "| encoded points: chunk and tail data | %s | %s | |\n", mb(s.encoded), per(s.encoded))
	fmt.Fprintf(w, "| the same points in full chunks of %d, as a finished run holds them | %s (%.2f bytes a point) | 1.00 | |\n", pgsize.ChunkSize, mb(full.Bytes), float64(full.Bytes)/float64(full.Points))
	var parts []string
	for _, t := range s.tables {
		if t.total >= 1e6 {
			parts = append(parts, fmt.Sprintf("%s %s (%s live rows, %s dead)", t.name, mb(t.total), timing.Count(int(t.live)), timing.Count(int(t.dead))))
		}
	}
	fmt.Fprintf(w, "\nTables over 1 MB (heap, TOAST and indexes): %s.\n", strings.Join(parts, ", "))
}

// cpuSample is the CPU time used so far, in clock ticks (USER_HZ, 100 a
// second on Linux): by the machine and by the load's programs.
type cpuSample struct {
	busy, total int64 // the machine's, from /proc/stat
	self        time.Duration
	nginx, pg   int64 // nginx (this process's children), PostgreSQL's server
	pgKnown     bool
}

// ticks is the length of a clock tick of /proc (USER_HZ).
const ticks = 10 * time.Millisecond

// sampleCPU reads the CPU time used so far by the machine, this process
// (the clients and the replicas), nginx, and the PostgreSQL server whose
// postmaster is pid (0: unknown).
func sampleCPU(postmaster int) cpuSample {
	var s cpuSample
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		// user nice system idle iowait irq softirq steal (guest time is
		// counted in user already)
		for i, v := range f[1:min(len(f), 9)] {
			n, _ := strconv.ParseInt(v, 10, 64)
			s.total += n
			if i != 3 && i != 4 && i != 7 {
				s.busy += n
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	procs := readProcs()
	for pid, p := range procs {
		if p.ppid == os.Getpid() && p.comm == "nginx" {
			s.nginx += procs.tree(pid)
		}
	}
	if _, ok := procs[postmaster]; ok {
		s.pg, s.pgKnown = procs.tree(postmaster), true
	}
	return s
}

// since describes the CPU time used since s0, and by request of the n
// acknowledged.
func (s cpuSample) since(s0 cpuSample, n int) string {
	if s.total == s0.total {
		return ""
	}
	self := s.self - s0.self
	nginx := time.Duration(s.nginx-s0.nginx) * ticks
	pg := time.Duration(s.pg-s0.pg) * ticks
	per := func(d time.Duration) string { return timing.Millis(d / time.Duration(max(n, 1))) }
	out := fmt.Sprintf("The machine's %d CPUs were %.0f %% busy (others' work included). CPU time used: the clients and both replicas (this process) %s, %s a request acknowledged; nginx %s, %s a request",
		runtime.NumCPU(), 100*float64(s.busy-s0.busy)/float64(s.total-s0.total), timing.Short(self), per(self), timing.Short(nginx), per(nginx))
	if s.pgKnown && s0.pgKnown {
		out += fmt.Sprintf("; PostgreSQL %s, %s a request; in all %s a request", timing.Short(pg), per(pg), per(self+nginx+pg))
	}
	return out + "."
}

// proc is a process of /proc.
type proc struct {
	ppid int
	comm string
	cpu  int64 // utime, stime, cutime, cstime: its own and its reaped children's
}

type procs map[int]proc

// readProcs reads every process's parent and CPU time from /proc.
func readProcs() procs {
	ps := procs{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime cutime cstime
		open, close := strings.IndexByte(string(data), '('), strings.LastIndexByte(string(data), ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(string(data[close+1:]))
		if len(f) < 15 {
			continue
		}
		p := proc{comm: string(data[open+1 : close])}
		p.ppid, _ = strconv.Atoi(f[1])
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			p.cpu += n
		}
		ps[pid] = p
	}
	return ps
}

// tree returns the CPU time of pid and its descendants, living or reaped.
func (ps procs) tree(pid int) int64 {
	n := ps[pid].cpu
	for c, p := range ps {
		if p.ppid == pid && c != pid {
			n += ps.tree(c)
		}
	}
	return n
}

// postmasterPID returns the process id of the PostgreSQL server of dsn
// when it runs on this machine (the parent of a session's backend), else
// 0.
func postmasterPID(ctx context.Context, dsn string) int {
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0
	}
	defer db.Close(ctx)
	var backend int
	if db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend) != nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", backend))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// loadavg returns the 1-minute load average, or "?".
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
