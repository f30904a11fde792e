package driver

import "sync"

// keyLocks serializes operations per volume or snapshot ID. A caller that
// finds a key busy does not wait: CSI callers retry codes.Aborted, which
// keeps a stuck operation from piling up goroutines behind it.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func newKeyLocks() *keyLocks {
	return &keyLocks{held: map[string]bool{}}
}

// tryLock takes all keys or none. It returns the release function, or false
// when one of the keys is held.
func (l *keyLocks) tryLock(keys ...string) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.held[k] {
			return nil, false
		}
	}
	for _, k := range keys {
		l.held[k] = true
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, k := range keys {
			delete(l.held, k)
		}
	}, true
}
