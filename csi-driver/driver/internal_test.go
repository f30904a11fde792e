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

package driver

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestKeyLocksTakeAllKeysOrNone(t *testing.T) {
	l := newKeyLocks()
	unlockA, ok := l.tryLock("a")
	if !ok {
		t.Fatal("a free key was busy")
	}
	if _, ok := l.tryLock("b", "a"); ok {
		t.Fatal("a held key was taken twice")
	}
	unlockB, ok := l.tryLock("b")
	if !ok {
		t.Fatal("a failed tryLock kept a key it did not get")
	}
	unlockA()
	unlockB()
	if _, ok := l.tryLock("a", "b"); !ok {
		t.Fatal("released keys stayed busy")
	}
}

func TestKeyLocksAcquireFailsFastOnItsOwnKey(t *testing.T) {
	l := newKeyLocks()
	unlock, ok := l.tryLock("snap")
	if !ok {
		t.Fatal("a free key was busy")
	}
	defer unlock()
	if _, ok := l.acquire(context.Background(), "snap", "vol"); ok {
		t.Fatal("acquire took an own key that was held")
	}
	if _, ok := l.tryLock("vol"); !ok {
		t.Fatal("a failed acquire kept the source key")
	}
}

func TestKeyLocksAcquireWaitsForTheSource(t *testing.T) {
	l := newKeyLocks()
	unlockFirst, ok := l.acquire(context.Background(), "snap-1", "vol")
	if !ok {
		t.Fatal("first acquire failed")
	}
	got := make(chan func(), 1)
	go func() {
		unlock, ok := l.acquire(context.Background(), "snap-2", "vol")
		if ok {
			got <- unlock
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second acquire took the source while the first held it")
	case <-time.After(50 * time.Millisecond): // it must still be waiting
	}
	unlockFirst()
	select {
	case unlock, ok := <-got:
		if !ok {
			t.Fatal("second acquire gave up")
		}
		unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("second acquire did not get the released source")
	}
}

func TestKeyLocksAcquireGivesUpWhenTheContextEnds(t *testing.T) {
	l := newKeyLocks()
	unlock, _ := l.tryLock("vol")
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := l.acquire(ctx, "snap", "vol"); ok {
		t.Fatal("acquire took a held source")
	}
	if _, ok := l.tryLock("snap"); !ok {
		t.Fatal("a cancelled acquire kept its own key")
	}
}

func TestPaginateWalksTheListAndRejectsForeignTokens(t *testing.T) {
	items := []int{0, 1, 2, 3, 4}
	var got []int
	token := ""
	for {
		page, next, err := paginate(items, token, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(got, items) {
		t.Errorf("pages gave %v, want %v", got, items)
	}
	for _, bad := range []string{"x", "-1", "6"} {
		if _, _, err := paginate(items, bad, 2); status.Code(err) != codes.Aborted {
			t.Errorf("token %q: code %v, want Aborted", bad, status.Code(err))
		}
	}
}
