package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// pingInterval is how often an idle event stream gets a ping, which keeps
// proxies from closing it and lets the server notice a gone client.
const pingInterval = 15 * time.Second

// events streams server-sent events: "runs" naming the runs that changed,
// each time indexing finds some (at most once per index interval), and
// "ping" every 15 s.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("streaming is not supported by this connection")
	}
	sub := s.hub.subscribe()
	defer s.hub.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-sub.closed:
			return nil
		case <-ping.C:
			fmt.Fprint(w, "event: ping\ndata: {}\n\n")
		case <-sub.ready:
			ids := sub.take()
			if len(ids) == 0 {
				continue
			}
			data, _ := json.Marshal(struct {
				Changed []string `json:"changed"`
			}{ids})
			fmt.Fprintf(w, "event: runs\ndata: %s\n\n", data)
		}
		flusher.Flush()
	}
}

// hub hands the ids of changed runs to every event stream. Publishing
// never waits for a slow subscriber: its pending ids accumulate until it
// takes them.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]bool
	closed bool
}

type subscriber struct {
	mu      sync.Mutex
	pending map[string]bool
	ready   chan struct{} // signalled when pending is not empty
	closed  chan struct{} // closed when the hub closes
}

func newHub() *hub { return &hub{subs: map[*subscriber]bool{}} }

func (h *hub) subscribe() *subscriber {
	sub := &subscriber{pending: map[string]bool{}, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(sub.closed)
		return sub
	}
	h.subs[sub] = true
	return sub
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, sub)
}

// publish tells every subscriber that ids changed.
func (h *hub) publish(ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		sub.mu.Lock()
		for _, id := range ids {
			sub.pending[id] = true
		}
		sub.mu.Unlock()
		select {
		case sub.ready <- struct{}{}:
		default:
		}
	}
}

// close ends every event stream, for shutdown.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for sub := range h.subs {
		close(sub.closed)
	}
	h.subs = nil
}

// take returns the pending ids, sorted, and clears them.
func (sub *subscriber) take() []string {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	ids := make([]string, 0, len(sub.pending))
	for id := range sub.pending {
		ids = append(ids, id)
	}
	clear(sub.pending)
	sort.Strings(ids)
	return ids
}
