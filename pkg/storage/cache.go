package storage

import (
	"container/list"
	"sync"
)

// chunkCache is an LRU of chunk objects' bytes, bounded by total size.
type chunkCache struct {
	mtx   sync.Mutex
	max   int64
	size  int64
	ll    *list.List
	items map[string]*list.Element
}

type cacheItem struct {
	key  string
	data []byte
}

func newChunkCache(max int64) *chunkCache {
	return &chunkCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *chunkCache) get(key string) ([]byte, bool) {
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheItem).data, true
	}
	return nil, false
}

func (c *chunkCache) put(key string, data []byte) {
	n := int64(len(data))
	if n > c.max/4 {
		return // too big to be worth keeping
	}
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.ll.PushFront(&cacheItem{key: key, data: data})
	c.size += n
	for c.size > c.max {
		e := c.ll.Back()
		it := e.Value.(*cacheItem)
		c.ll.Remove(e)
		delete(c.items, it.key)
		c.size -= int64(len(it.data))
	}
}
