package driver

import (
	"slices"
	"testing"

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
