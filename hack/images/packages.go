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
	"bytes"
	"context"
	_ "embed" // packages.txt
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// packageList is packages.txt: the packages wanted and those kept out.
type packageList struct {
	roots   []string
	exclude []string
}

// packagesTxt is packages.txt, which the Containerfile reads too.
//
//go:embed packages.txt
var packagesTxt string

// parsePackageList parses packages.txt: one package a line, "!name" to
// exclude, "#" comments.
func parsePackageList(data string) (packageList, error) {
	var l packageList
	for line := range strings.Lines(data) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "!"):
			l.exclude = append(l.exclude, strings.TrimPrefix(line, "!"))
		default:
			l.roots = append(l.roots, line)
		}
	}
	if len(l.roots) == 0 {
		return packageList{}, fmt.Errorf("the package list names no package")
	}
	return l, nil
}

// depGraph maps a package to its dependency groups; a group holds the
// alternatives of one "a | b" dependency, virtual ones written <name>.
type depGraph map[string][][]string

// aptCacheDepends is the dependency query: runtime dependencies only.
var aptCacheDepends = []string{"depends", "--recurse", "--no-recommends", "--no-suggests",
	"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"}

// resolve returns the sorted closure of l.roots over their Depends and
// Pre-Depends, taking the first real package of each group of alternatives,
// dropping virtual packages and l.exclude.
func resolve(ctx context.Context, l packageList) ([]string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", append(aptCacheDepends, l.roots...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("failed to query apt-cache for the dependencies of %v: %w", l.roots, commandError(err))
	}
	g := parseDepends(out)
	seen := map[string]bool{}
	queue := slices.Clone(l.roots)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] || slices.Contains(l.exclude, p) {
			continue
		}
		if _, ok := g[p]; !ok {
			return nil, fmt.Errorf("apt-cache knows no package %q", p)
		}
		seen[p] = true
		queue = append(queue, chosen(g[p])...)
	}
	pkgs := make([]string, 0, len(seen))
	for p := range seen {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return pkgs, nil
}

// chosen picks the first real package of each group.
func chosen(groups [][]string) []string {
	var out []string
	for _, alts := range groups {
		if i := slices.IndexFunc(alts, func(a string) bool { return !strings.HasPrefix(a, "<") }); i >= 0 {
			out = append(out, alts[i])
		}
	}
	return out
}

// parseDepends reads the output of apt-cache depends: a package at column 0,
// its dependencies as "  Kind: name", " |Kind: name" when the next line is an
// alternative of this one, and the providers of a virtual package indented
// further (ignored).
func parseDepends(out []byte) depGraph {
	g := depGraph{}
	var pkg string
	or := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case line[0] != ' ':
			pkg, or = line, false
			if _, ok := g[pkg]; !ok {
				g[pkg] = nil
			}
		case strings.HasPrefix(line, "    "):
		default:
			_, dep, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			if or {
				last := len(g[pkg]) - 1
				g[pkg][last] = append(g[pkg][last], dep)
			} else {
				g[pkg] = append(g[pkg], []string{dep})
			}
			or = strings.HasPrefix(line, " |")
		}
	}
	return g
}

// debArch maps Debian architectures to GOARCH values.
var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64", "armhf": "arm", "i386": "386",
	"ppc64el": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

// checkDebArch fails unless the host's apt fetches packages for goarch.
func checkDebArch(ctx context.Context, goarch string) error {
	out, err := exec.CommandContext(ctx, "dpkg", "--print-architecture").Output()
	if err != nil {
		return fmt.Errorf("failed to read the Debian architecture: %w", commandError(err))
	}
	host := strings.TrimSpace(string(out))
	if debArch[host] != goarch {
		return fmt.Errorf("the node image for %s needs Debian packages for it, but this host's apt is %s", goarch, host)
	}
	return nil
}

// commandError adds a failed command's stderr to its error.
func commandError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
