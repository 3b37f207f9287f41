package api

import (
	"flag"
	"fmt"
	"time"

	"github.com/skald-logs/skald/pkg/logql/syntax"
	"github.com/skald-logs/skald/pkg/validation"
)

// The read path's per-tenant limits, as Loki applies them.

// newDefaultLimits returns the limits of a tenant when Deps.Limits is nil:
// the defaults of validation.Limits' flags.
func newDefaultLimits() *validation.Limits {
	l := &validation.Limits{}
	l.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return l
}

// limits returns the tenant's limits.
func (a *API) limits(tenant string) *validation.Limits {
	if a.deps.Limits != nil {
		if l := a.deps.Limits.For(tenant); l != nil {
			return l
		}
	}
	return a.defaultLimits
}

// checkQueryLength enforces the tenant's max_query_length on [start, end],
// measured in whole milliseconds as Loki does, with Loki's message.
func checkQueryLength(l *validation.Limits, start, end int64) error {
	maxLen := time.Duration(l.MaxQueryLength)
	if maxLen <= 0 {
		return nil
	}
	ms := satSub(floorDiv(end, int64(time.Millisecond)), floorDiv(start, int64(time.Millisecond)))
	length := time.Duration(satMul(ms, int64(time.Millisecond)))
	if length <= maxLen {
		return nil
	}
	return badRequest(fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: %s)", length, l.MaxQueryLength))
}

// checkEntriesLimit enforces the tenant's max_entries_limit_per_query on
// the limit of a log query; Loki does not apply it to metric queries. The
// query is parsed only when the limit is exceeded, and a query that does
// not parse gets its parse error, which Loki reports first.
func checkEntriesLimit(l *validation.Limits, query string, limit uint32) error {
	maxEntries := l.MaxEntriesLimitPerQuery
	if maxEntries <= 0 || int64(limit) <= int64(maxEntries) {
		return nil
	}
	expr, err := syntax.ParseExpr(query)
	if err != nil {
		return err
	}
	if _, ok := expr.(syntax.LogSelectorExpr); !ok {
		return nil
	}
	return badRequest(fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)",
		limit, maxEntries))
}
