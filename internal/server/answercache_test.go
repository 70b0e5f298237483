package server

import (
	"fmt"
	"testing"
)

func TestAnswerCache(t *testing.T) {
	t.Parallel()
	c := newAnswerCache(100)
	c.put("a", make([]byte, 20))
	c.put("b", make([]byte, 20))
	c.put("huge", make([]byte, 26)) // over a quarter: not kept
	if _, ok := c.get("huge"); ok {
		t.Error("an answer over a quarter of the cache was kept")
	}
	c.get("a") // a is now the most recent
	for i := range 4 {
		c.put(fmt.Sprint("k", i), make([]byte, 20))
	}
	if _, ok := c.get("b"); ok {
		t.Error("the least recently used entry was kept past the bound")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a recently used entry was dropped")
	}
	if c.size > c.max {
		t.Errorf("size %d over the bound %d", c.size, c.max)
	}
}
