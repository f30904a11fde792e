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
