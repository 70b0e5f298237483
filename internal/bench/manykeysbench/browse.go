package manykeysbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/runlog/runlog/internal/bench/timing"
)

// page is one request of the web UI's run page, as the clients make it.
type page struct {
	name string                 // as the table shows it
	path func(id string) string // its path and query
}

// runsPage is the runs list as the web UI asks for its first page.
const runsPage = "/api/v1/runs?sort=start_time&order=desc&offset=0&limit=200"

// pages returns the requests of one round of browsing a run, in order:
// the runs list, the run with its first page of series, a later page of
// its series (after the key after), a search of its series, and one
// series.
func pages(after string) []page {
	run := func(id string) string { return "/api/v1/runs/" + url.PathEscape(id) }
	return []page{
		{"GET /api/v1/runs", func(string) string { return runsPage }},
		{"GET /api/v1/runs/{id}", run},
		{"GET /api/v1/runs/{id}?series_after=" + after, func(id string) string {
			return run(id) + "?series_after=" + url.QueryEscape(after)
		}},
		{"GET /api/v1/runs/{id}?series_q=" + searched, func(id string) string {
			return run(id) + "?series_q=" + url.QueryEscape(searched)
		}},
		{"GET /api/v1/runs/{id}/series?keys=train_loss", func(id string) string {
			return run(id) + "/series?keys=train_loss&points=2000"
		}},
	}
}

// searched is what the clients search the run's series for: one key of
// every layer.
const searched = "param0042"

// sample is one request's outcome.
type sample struct {
	d     time.Duration
	bytes int64
	err   error
}

// served is what one server answered: single requests timed alone, the
// requests of the concurrent browsing by page, and its peak RSS.
type served struct {
	list, detail           time.Duration
	listBytes, detailBytes int64
	browse                 [][]sample // by page
	wall                   time.Duration
	peak                   int64
	killed                 bool
}

// pages are the requests of a round: the later page of series begins
// half-way through the many-keys run's keys.
func (b *bench) pages() []page { return pages(manyKey(b.Steps * b.KeysPerStep / 2)) }

// measure starts a server on home, times the runs list and run id's detail
// alone, then c.Clients clients browsing run id at once, and stops it.
func (b *bench) measure(ctx context.Context, home, id string) (served, error) {
	var r served
	s, err := b.startUI(ctx, home)
	if err != nil {
		return r, err
	}
	defer func() {
		if s != nil {
			s.stop()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: b.Clients}}
	defer client.CloseIdleConnections()
	alone := func(path string) (time.Duration, int64, error) {
		var n int64
		d, err := timing.Time(b.Repeat, func() error {
			var err error
			n, err = get(ctx, client, s.base+path)
			return err
		})
		return d, n, err
	}
	if r.list, r.listBytes, err = alone(runsPage); err != nil {
		return r, err
	}
	if r.detail, r.detailBytes, err = alone("/api/v1/runs/" + url.PathEscape(id)); err != nil {
		return r, err
	}
	b.progress("  %d clients browsing %s for at most %s or %d rounds…", b.Clients, id, b.Duration, b.Rounds)
	r.browse, r.wall = browse(ctx, client, s.base, id, b.pages(), b.Clients, b.Rounds, b.Duration)
	r.killed = s.killed()
	r.peak = s.stop()
	s = nil
	return r, nil
}

// browse runs clients clients, each making rounds of pages until rounds
// rounds are done or the time is up (a round once begun is finished), and
// returns every request's outcome by page and how long it all took.
func browse(ctx context.Context, client *http.Client, base, id string, pages []page, clients, rounds int, limit time.Duration) ([][]sample, time.Duration) {
	start := time.Now()
	deadline := start.Add(limit)
	var mu sync.Mutex
	out := make([][]sample, len(pages))
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < rounds && ctx.Err() == nil && (n == 0 || time.Now().Before(deadline)); n++ {
				for i, p := range pages {
					t := time.Now()
					bytes, err := get(ctx, client, base+p.path(id))
					d := time.Since(t)
					mu.Lock()
					out[i] = append(out[i], sample{d, bytes, err})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return out, time.Since(start)
}

// get reads url to the end and returns how many bytes its body had.
func get(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return io.Copy(io.Discard, resp.Body)
}

// stats summarizes the samples of one page: latency quantiles of the
// requests that succeeded, the largest body, and the errors.
type stats struct {
	n, errs        int
	med, p95, most time.Duration
	bytes          int64
	firstErr       error
}

func summarize(ss []sample) stats {
	var st stats
	var ds []time.Duration
	for _, s := range ss {
		st.n++
		if s.err != nil {
			st.errs++
			if st.firstErr == nil {
				st.firstErr = s.err
			}
			continue
		}
		ds = append(ds, s.d)
		st.bytes = max(st.bytes, s.bytes)
	}
	if len(ds) == 0 {
		return st
	}
	slices.Sort(ds)
	st.med = ds[len(ds)/2]
	st.p95 = ds[min(len(ds)-1, (len(ds)*95+99)/100-1)]
	st.most = ds[len(ds)-1]
	return st
}

func (st stats) String() string {
	if st.n == st.errs {
		return fmt.Sprintf("all %d failed", st.n)
	}
	return fmt.Sprintf("median %s, p95 %s, max %s", dur(st.med), dur(st.p95), dur(st.most))
}

func (st stats) note() string {
	s := fmt.Sprintf("%d requests, %s each", st.n, mb(st.bytes))
	if st.errs > 0 {
		s += fmt.Sprintf("; %d failed: %v", st.errs, st.firstErr)
	}
	return s
}
