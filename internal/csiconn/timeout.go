/*
Copyright 2026 The Plinth Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package csiconn

import (
	"context"
	"time"
)

// DefaultCallTimeout bounds a driver call (CreateVolume, CreateSnapshot,
// ...) made with CallContext.
const DefaultCallTimeout = 60 * time.Second

// CallContext returns ctx bounded by DefaultCallTimeout: every driver call
// may hang, and a hung call must come back as DeadlineExceeded (an
// in-progress error, retried) instead of blocking a worker forever.
func CallContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, DefaultCallTimeout)
}
