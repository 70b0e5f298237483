package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runlog/runlog"
)

func TestEventsNameARunThatLogs(t *testing.T) {
	home := t.TempDir()
	_, ts := newTestServer(t, home, Options{IndexInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}

	r, err := runlog.Init(runlog.Options{Home: home, Name: "live", DisableGit: true, FlushInterval: 10 * time.Millisecond, URL: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Finish(0)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for step := int64(0); ; step++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			r.LogStep(step, map[string]float64{"train_loss": 1})
		}
	}()

	sc := bufio.NewScanner(resp.Body)
	var event string
	seen := 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "runs":
			if !strings.Contains(line, `"changed":[`) {
				t.Fatalf("runs event %q", line)
			}
			if strings.Contains(line, `"`+r.ID()+`"`) {
				seen++
				if seen == 2 { // the run's creation and more data since
					return
				}
			}
		}
	}
	t.Fatalf("no runs event named %s: %v", r.ID(), sc.Err())
}

func TestHubCoalesces(t *testing.T) {
	h := newHub()
	sub := h.subscribe()
	h.publish([]string{"b", "a"})
	h.publish([]string{"a", "c"})
	<-sub.ready
	if got := strings.Join(sub.take(), ","); got != "a,b,c" {
		t.Errorf("pending %q", got)
	}
	h.close()
	select {
	case <-sub.closed:
	default:
		t.Error("closing the hub leaves the subscriber open")
	}
	h.unsubscribe(sub)
	if s := h.subscribe(); s == nil {
		t.Error("subscribe after close")
	}
}

func TestGenerations(t *testing.T) {
	// A run whose cursors moved changed, whoever indexed it.
	var g generations
	home, ids := seedHome(t)
	s, _ := newTestServer(t, home, Options{})
	curs, err := s.db.Cursors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if changed := g.update(curs, nil); len(changed) != 4 {
		t.Errorf("first update: %v", changed)
	}
	if changed := g.update(curs, nil); len(changed) != 0 {
		t.Errorf("nothing moved: %v", changed)
	}
	if changed := g.update(curs, []string{ids["xss"]}); len(changed) != 1 || g.of(ids["xss"]) != 2 {
		t.Errorf("indexed one: %v, generation %d", changed, g.of(ids["xss"]))
	}
	delete(curs, fixtureBasic)
	if changed := g.update(curs, nil); len(changed) != 1 || changed[0] != fixtureBasic {
		t.Errorf("a run removed: %v", changed)
	}
}
