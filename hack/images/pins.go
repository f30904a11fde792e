package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// pin returns the value of the hack/versions.mk variable name under root,
// the way hack/build-k8s.sh reads it: from the environment (which also
// carries make's command-line overrides) or from its "NAME ?= value" line.
func pin(root, name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	file := filepath.Join(root, "hack", "versions.mk")
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("failed to read the pins: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "?=")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("failed to read %s: %w", file, err)
	}
	return "", fmt.Errorf("%s does not set %s", file, name)
}
