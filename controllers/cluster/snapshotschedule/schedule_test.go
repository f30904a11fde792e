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
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLatestSlotTakesOnlyTheLatestDueRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		schedule string
		base     string
		now      string
		want     string // "" for no run due
	}{
		{"nothing due before the first slot", "@hourly", "2026-11-22T10:00:00Z", "2026-11-22T10:59:59Z", ""},
		{"due exactly at the slot", "@hourly", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", "2026-11-22T11:00:00Z"},
		{"base between slots", "0 * * * *", "2026-11-22T10:20:00Z", "2026-11-22T11:05:00Z", "2026-11-22T11:00:00Z"},
		{"downtime collapses into the latest missed slot", "@hourly", "2026-11-22T10:00:00Z", "2026-11-22T15:20:00Z", "2026-11-22T15:00:00Z"},
		{"weekly schedule after a month down", "0 3 * * 1", "2026-10-19T03:00:00Z", "2026-11-22T12:00:00Z", "2026-11-16T03:00:00Z"},
		{"yearly schedule after years down", "@yearly", "2022-01-01T00:00:00Z", "2026-11-22T12:00:00Z", "2026-01-01T00:00:00Z"},
		{"yearly schedule not yet due", "@yearly", "2026-01-01T00:00:00Z", "2026-11-22T12:00:00Z", ""},
		{"every-minute schedule after a year down", "* * * * *", "2025-11-22T12:00:00Z", "2026-11-22T12:00:30Z", "2026-11-22T12:00:00Z"},
		{"@every counts from the base", "@every 30m", "2026-11-22T10:07:00Z", "2026-11-22T12:00:00Z", "2026-11-22T11:37:00Z"},
		{"@every not yet due", "@every 30m", "2026-11-22T10:07:00Z", "2026-11-22T10:36:59Z", ""},
		{"@every drops sub-second base", "@every 1h", "2026-11-22T10:00:00.75Z", "2026-11-22T11:00:00Z", "2026-11-22T11:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSchedule(tc.schedule, at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			// Times read from the API server are in the local zone: the
			// schedule must still be read in UTC.
			local := time.FixedZone("UTC+5:30", 5*3600+1800)
			got := latestSlot(s, at(tc.base).In(local), at(tc.now).In(local))
			var want time.Time
			if tc.want != "" {
				want = at(tc.want)
			}
			if !got.Equal(want) {
				t.Errorf("latestSlot = %v, want %v", got, want)
			}
			if !got.IsZero() && !nextRun(s, got.In(local)).After(at(tc.now)) {
				t.Errorf("the slot after %v, %v, is already due at %v", got, nextRun(s, got.In(local)), tc.now)
			}
		})
	}
}

func TestParseScheduleRejectsWhatNeverRunsInUTC(t *testing.T) {
	now := at("2026-11-22T10:00:00Z")
	for spec, valid := range map[string]bool{
		"*/15 * * * *":          true,
		"@daily":                true,
		"@every 90s":            true,
		"not a cron":            false,
		"0 0 30 2 *":            false, // February 30th never comes
		"* * * * * *":           false, // seconds field: five fields only
		"TZ=Europe/Paris":       false, // cron itself panics on this one
		"CRON_TZ=UTC 0 * * * *": false,
	} {
		if _, err := parseSchedule(spec, now); (err == nil) != valid {
			t.Errorf("parseSchedule(%q): err = %v, want valid=%v", spec, err, valid)
		}
	}
}
