package prereq

import "testing"

func TestInCIFollowsTheCIVariable(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "": false, "false": false, "1": false} {
		t.Setenv("CI", value)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", value, got, want)
		}
	}
}
