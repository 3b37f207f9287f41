package api

import (
	"flag"
	"fmt"
	"time"

	"github.com/skald-logs/skald/pkg/logql"
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

// clipToLookback applies the tenant's max_query_lookback (0: none) to
// [start, end] as Loki's query frontend does: a start before now−lookback
// moves up to it, silently. It reports false when the whole range is older
// (end before now−lookback): Loki then answers an empty result without
// asking anyone.
func clipToLookback(l *validation.Limits, start, end, now int64) (int64, bool) {
	lookback := int64(l.MaxQueryLookback)
	if lookback <= 0 {
		return start, true
	}
	oldest := satSub(now, lookback)
	if end < oldest {
		return start, false
	}
	return max(start, oldest), true
}

// limitRange applies the tenant's time-range limits to [start, end] in
// Loki's order: max_query_lookback clips the start (false: nothing is left
// to read), then max_query_length is checked on what is left.
func limitRange(l *validation.Limits, start, end, now int64) (int64, bool, error) {
	start, ok := clipToLookback(l, start, end, now)
	if !ok {
		return start, false, nil
	}
	return start, true, checkQueryLength(l, start, end)
}

// emptyQueryResult is the answer to a query whose range lies entirely
// beyond max_query_lookback, as Loki's frontend gives it: no data, of the
// query's result type (a vector for instant queries, a matrix for metric
// range queries, streams for log queries). A query that does not parse
// gets its parse error.
func emptyQueryResult(query string, instant bool) (logql.Result, error) {
	expr, err := syntax.ParseExpr(query)
	if err != nil {
		return logql.Result{}, err
	}
	switch _, metric := expr.(syntax.SampleExpr); {
	case instant:
		return logql.Result{Type: logql.ValueVector}, nil
	case metric:
		return logql.Result{Type: logql.ValueMatrix}, nil
	}
	return logql.Result{Type: logql.ValueStreams}, nil
}
