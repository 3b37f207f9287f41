package app

import (
	"context"

	"github.com/skald-logs/skald/pkg/api"
	"github.com/skald-logs/skald/pkg/querier"
)

// tailer serves the API's live tails with the querier's.
type tailer struct{ q *querier.Querier }

func (t tailer) Tail(ctx context.Context, tenant string, r api.TailRequest) error {
	return t.q.Tail(ctx, tenant, querier.TailRequest(r))
}
