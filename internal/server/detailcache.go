package server

import (
	"container/list"
	"sync"
)

// detailCache keeps the encoded run details answered lately, by run,
// generation and page, so that a page browsed again — a search of a
// million keys, say — costs a lookup until the run changes. It holds at
// most max bytes; the least recently used go first, and an answer larger
// than a quarter of it is not kept.
type detailCache struct {
	mu    sync.Mutex
	max   int
	size  int
	lru   *list.List // of *detailEntry, most recent first
	byKey map[string]*list.Element
}

type detailEntry struct {
	key  string
	body []byte
}

// detailCacheBytes bounds the memory of the run details kept.
const detailCacheBytes = 32 << 20

func newDetailCache(max int) *detailCache {
	return &detailCache{max: max, lru: list.New(), byKey: map[string]*list.Element{}}
}

func (c *detailCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*detailEntry).body, true
}

func (c *detailCache) put(key string, body []byte) {
	if len(body) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.lru.PushFront(&detailEntry{key, body})
	c.size += len(body)
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*detailEntry)
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		c.size -= len(e.body)
	}
}
