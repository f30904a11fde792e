package csiconn

import (
	"cmp"
	"context"
	"time"
)

// DefaultCallTimeout bounds a driver call (CreateVolume, CreateSnapshot,
// ...) whose caller sets no timeout of its own.
const DefaultCallTimeout = 60 * time.Second

// CallContext returns ctx bounded by timeout, or by DefaultCallTimeout when
// timeout is zero: every driver call may hang, and a hung call must come
// back as DeadlineExceeded (an in-progress error, retried) instead of
// blocking a worker forever.
func CallContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cmp.Or(timeout, DefaultCallTimeout))
}
