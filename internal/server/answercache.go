package server

import (
	"container/list"
	"sync"
)

// answerCache keeps encoded answers given lately — run details by page,
// series by keys, axis, range and points — under a key that holds the
// run's generation, so that a page browsed again (a search of a million
// keys, a chart redrawn) costs a lookup until the run changes. It holds at
// most max bytes; the least recently used go first, and an answer larger
// than a quarter of it is not kept.
type answerCache struct {
	mu    sync.Mutex
	max   int
	size  int
	lru   *list.List // of *answerEntry, most recent first
	byKey map[string]*list.Element
}

type answerEntry struct {
	key  string
	body []byte
}

// answerCacheBytes bounds the memory of each answer cache: run details,
// series and group aggregates are kept apart.
const answerCacheBytes = 32 << 20

func newAnswerCache(max int) *answerCache {
	return &answerCache{max: max, lru: list.New(), byKey: map[string]*list.Element{}}
}

func (c *answerCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*answerEntry).body, true
}

func (c *answerCache) put(key string, body []byte) {
	if len(body) > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.lru.PushFront(&answerEntry{key, body})
	c.size += len(body)
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*answerEntry)
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		c.size -= len(e.body)
	}
}
