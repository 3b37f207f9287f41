package distributor

import (
	"strings"
	"sync"
)

// streamCache remembers the parsed form of pushed label strings per tenant, so
// that the usual push (the same few streams again and again) parses nothing.
// When it holds max entries it is emptied and refilled.
type streamCache struct {
	mtx     sync.RWMutex
	max     int
	size    int
	tenants map[string]map[string]*streamInfo
}

func newStreamCache(max int) *streamCache {
	return &streamCache{max: max, tenants: make(map[string]map[string]*streamInfo)}
}

// get returns the cached info for the tenant's label string, or parses it.
// Parse errors are not cached. What is cached holds a copy of raw, never
// raw itself: a pushed label string is part of the request's memory.
func (c *streamCache) get(tenant, raw string, parse func(raw string) (*streamInfo, error)) (*streamInfo, error) {
	c.mtx.RLock()
	info, ok := c.tenants[tenant][raw]
	c.mtx.RUnlock()
	if ok {
		return info, nil
	}
	raw = strings.Clone(raw)
	info, err := parse(raw)
	if err != nil {
		return nil, err
	}
	c.mtx.Lock()
	defer c.mtx.Unlock()
	if c.size >= c.max {
		clear(c.tenants)
		c.size = 0
	}
	m := c.tenants[tenant]
	if m == nil {
		m = make(map[string]*streamInfo)
		c.tenants[tenant] = m
	}
	if _, ok := m[raw]; !ok {
		c.size++
	}
	m[raw] = info
	return info, nil
}
