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

package snapshotschedule

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// maxWindow bounds the look-back window of latestSlot, far below the largest
// time.Duration, for schedules whose base is very old.
const maxWindow = 100 * 365 * 24 * time.Hour

// errNeverFires is returned for a cron expression that parses but matches no
// time, such as "0 0 30 2 *".
var errNeverFires = errors.New("the schedule never fires")

// parseSchedule parses a five-field cron expression or descriptor. Time zone
// prefixes are refused: schedules are in UTC, and cron panics on a prefix
// without an expression after it.
func parseSchedule(spec string, now time.Time) (cron.Schedule, error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("failed to parse the schedule: time zone prefixes are not supported, schedules are in UTC")
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the schedule: %w", err)
	}
	if nextRun(s, now).IsZero() {
		return nil, errNeverFires
	}
	return s, nil
}

// nextRun is the first scheduled time after t. Schedules are in UTC whatever
// the location of t: cron reads a field such as the hour in t's location.
func nextRun(s cron.Schedule, t time.Time) time.Time {
	return s.Next(t.UTC())
}

// latestSlot returns the latest scheduled time after base and not after now,
// or the zero time when no run is due. However many runs were missed, only
// the latest is returned: a controller back from downtime takes one run.
func latestSlot(s cron.Schedule, base, now time.Time) time.Time {
	base, now = base.UTC(), now.UTC()
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return latestDelaySlot(d.Delay, base, now)
	}
	// Absolute schedules: look back over a doubling window so that a long
	// downtime costs a few lookups rather than one per missed run.
	for w := time.Hour; ; w *= 2 {
		from := now.Add(-w)
		if w >= maxWindow || !from.After(base) {
			from = base
		}
		if t := nextRun(s, from); !t.IsZero() && !t.After(now) {
			return lastBefore(s, t, now)
		}
		if from.Equal(base) {
			return time.Time{}
		}
	}
}

// lastBefore walks forward from the slot t to the last slot not after now.
func lastBefore(s cron.Schedule, t, now time.Time) time.Time {
	for n := nextRun(s, t); !n.IsZero() && !n.After(now); n = nextRun(s, t) {
		t = n
	}
	return t
}

// latestDelaySlot is latestSlot for "@every" schedules, whose runs are spaced
// from the previous run rather than fixed on the clock.
func latestDelaySlot(delay time.Duration, base, now time.Time) time.Time {
	base = base.Truncate(time.Second)
	if now.Before(base.Add(delay)) {
		return time.Time{}
	}
	return base.Add(now.Sub(base) / delay * delay)
}

// DefaultMinInterval is the shortest time between two runs of a schedule
// unless plinth-controller's --snapshotschedule-min-interval says otherwise:
// every run snapshots every selected claim, and a snapshot costs a freeze of
// the filesystem and room in the pool.
const DefaultMinInterval = 5 * time.Minute

// intervalSamples is how many consecutive runs minInterval looks at.
const intervalSamples = 1000

// checkInterval refuses a schedule that fires more often than min. An
// @every interval is read from the expression itself, since cron silently
// turns "0s" or "-5s" into one second.
func checkInterval(spec string, s cron.Schedule, now time.Time, limit time.Duration) error {
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		every, err := time.ParseDuration(d)
		if err == nil && every <= 0 {
			return fmt.Errorf("the schedule's interval %s is not positive", d)
		}
	}
	if gap := minInterval(s, now, limit); gap < limit {
		return fmt.Errorf("the schedule fires every %s at times, more often than the minimum interval of %s", gap, limit)
	}
	return nil
}

// minInterval returns the shortest gap between consecutive runs of s among
// the next intervalSamples runs, stopping early at the first gap under
// limit.
func minInterval(s cron.Schedule, now time.Time, limit time.Duration) time.Duration {
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return d.Delay
	}
	shortest := time.Duration(math.MaxInt64)
	prev := nextRun(s, now)
	for range intervalSamples {
		next := nextRun(s, prev)
		if next.IsZero() {
			break
		}
		shortest = min(shortest, next.Sub(prev))
		if shortest < limit {
			break
		}
		prev = next
	}
	return shortest
}
