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

package snapshotcontent

import (
	"testing"
	"time"
)

func TestRecordedLogTellsStaleCopiesFromCurrentOnes(t *testing.T) {
	var l recordedLog
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	if l.behind("a", "5", now) {
		t.Error("a content never recorded is behind")
	}
	l.record("a", "7", now)
	if !l.behind("a", "6", now.Add(time.Second)) {
		t.Error("a copy older than the recorded write is not behind")
	}
	if l.behind("a", "7", now.Add(time.Second)) {
		t.Error("the copy of the recorded write is behind")
	}
	if l.behind("a", "6", now.Add(recordedTTL+time.Second)) {
		t.Error("a copy is still behind after the log's TTL: it would never be cut again")
	}
	l.record("b", "9", now.Add(recordedTTL+time.Second))
	if _, ok := l.entries["a"]; ok {
		t.Error("recording b kept a's expired entry")
	}
	l.forget("b")
	if l.behind("b", "8", now.Add(recordedTTL+2*time.Second)) {
		t.Error("a forgotten content is behind")
	}
}
