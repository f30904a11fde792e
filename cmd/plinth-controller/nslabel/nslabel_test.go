package nslabel

import (
	"strings"
	"testing"
)

func TestLabelsRejectBadKeysAndValues(t *testing.T) {
	for _, bad := range []string{"novalue", "bad key=x", "pod-security.kubernetes.io/enforce=not valid", "=x"} {
		if err := (Labels{}).Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	l := Labels{}
	for _, good := range []string{"pod-security.kubernetes.io/enforce=privileged", "a=", "b=c"} {
		if err := l.Set(good); err != nil {
			t.Errorf("Set(%q): %v", good, err)
		}
	}
	if got := l.String(); !strings.HasPrefix(got, "a=,b=c,pod-security") {
		t.Errorf("String() = %q", got)
	}
}
