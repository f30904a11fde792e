package devcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestNodeSpecsSpreadNodesOverZones(t *testing.T) {
	tests := []struct {
		nodes, zones int
		want         []string
	}{
		{3, 2, []string{"zone-a", "zone-a", "zone-b"}},
		{4, 2, []string{"zone-a", "zone-a", "zone-b", "zone-b"}},
		{2, 0, []string{"zone-a", "zone-a"}},
		{3, 3, []string{"zone-a", "zone-b", "zone-c"}},
	}
	for _, tt := range tests {
		specs := NodeSpecs(tt.nodes, tt.zones)
		for i, spec := range specs {
			if spec.Zone != tt.want[i] || spec.Region != "region-1" {
				t.Errorf("NodeSpecs(%d, %d)[%d] = %s/%s, want %s/region-1", tt.nodes, tt.zones, i, spec.Zone, spec.Region, tt.want[i])
			}
		}
	}
}

func TestResetStopsProcessesOfAnEarlierRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A process started as "etcd" whose command line points into dir.
	sleep := filepath.Join(dir, "etcd")
	if err := os.Symlink("/bin/sleep", sleep); err != nil {
		t.Fatal(err)
	}
	stale := exec.Command(sleep, "300")
	if err := stale.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stale.Wait() }()
	t.Cleanup(func() { _ = stale.Process.Kill() })

	if err := reset(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stale process still runs after reset")
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("reset left %v (err %v) in the run directory", entries, err)
	}
}
