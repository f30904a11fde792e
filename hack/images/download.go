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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// deb is one package file as apt would fetch it.
type deb struct {
	pkg    string
	file   string // file name, which carries the version
	sha256 string // empty when apt gives another hash
}

// download makes sure the candidate version of every package is in cache
// and returns the files, in the order of pkgs. Only missing files are
// fetched, so a warm cache needs no network.
func download(ctx context.Context, cache string, pkgs []string) ([]string, error) {
	debs, err := printURIs(ctx, pkgs)
	if err != nil {
		return nil, err
	}
	var missing []deb
	for _, d := range debs {
		if _, err := os.Stat(filepath.Join(cache, d.file)); os.IsNotExist(err) {
			missing = append(missing, d)
		}
	}
	if err := fetch(ctx, cache, missing); err != nil {
		return nil, err
	}
	paths := make([]string, len(debs))
	for i, d := range debs {
		paths[i] = filepath.Join(cache, d.file)
	}
	return paths, nil
}

// printURIs asks apt which files it would download for pkgs.
func printURIs(ctx context.Context, pkgs []string) ([]deb, error) {
	out, err := exec.CommandContext(ctx, "apt-get", append([]string{"download", "--print-uris"}, pkgs...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("failed to ask apt-get for the package files: %w", commandError(err))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(pkgs) {
		return nil, fmt.Errorf("apt-get download --print-uris gave %d files for %d packages", len(lines), len(pkgs))
	}
	debs := make([]deb, len(lines))
	for i, line := range lines {
		// 'URI' file size hash
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("failed to parse apt-get output %q", line)
		}
		pkg, _, _ := strings.Cut(f[1], "_") // name_version_arch.deb
		debs[i] = deb{pkg: pkg, file: f[1]}
		if alg, sum, _ := strings.Cut(f[3], ":"); strings.EqualFold(alg, "SHA256") {
			debs[i].sha256 = strings.ToLower(sum)
		}
	}
	return debs, nil
}

// fetch downloads debs into a private directory of cache, checks their
// hashes and only then moves them into cache, so an interrupted or
// concurrent run never leaves a partial file there.
func fetch(ctx context.Context, cache string, debs []deb) error {
	if len(debs) == 0 {
		return nil
	}
	if err := os.MkdirAll(cache, 0o750); err != nil {
		return fmt.Errorf("failed to create the package cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, ".download-")
	if err != nil {
		return fmt.Errorf("failed to create a download directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	log.Printf("downloading %d Debian packages into %s", len(debs), cache)
	if err := aptDownload(ctx, tmp, debs); err != nil {
		return err
	}
	for _, d := range debs {
		if err := verify(filepath.Join(tmp, d.file), d.sha256); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(tmp, d.file), filepath.Join(cache, d.file)); err != nil {
			return fmt.Errorf("failed to move %s into the cache: %w", d.file, err)
		}
	}
	return nil
}

func aptDownload(ctx context.Context, dir string, debs []deb) error {
	args := []string{"download", "-q"}
	if os.Geteuid() == 0 {
		// apt's _apt user cannot write into dir; root downloads by itself.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	for _, d := range debs {
		args = append(args, d.pkg)
	}
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = dir
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to download the Debian packages: %w", err)
	}
	return nil
}

// verify checks the SHA-256 of path when want is known.
func verify(path, want string) error {
	if want == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("failed to open the downloaded package: %w", err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("failed to hash %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s has SHA-256 %s, apt expects %s", filepath.Base(path), got, want)
	}
	return nil
}
