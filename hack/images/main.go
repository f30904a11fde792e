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
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the command line of the image builder.
type options struct {
	root     string // the main module's directory
	out      string // where the tarballs go
	cache    string // the .deb cache
	goCmd    string
	registry string
	tag      string
	version  string
	source   string
	arch     string
	images   []string
	created  time.Time
}

func parseFlags() *options {
	o := &options{}
	var images string
	flag.StringVar(&o.root, "root", "../..", "Directory of the main module (the repository root).")
	flag.StringVar(&o.out, "out", "", "Output directory of the image tarballs (default ROOT/bin/images).")
	flag.StringVar(&o.cache, "deb-cache", "", "Cache of downloaded .deb files (default ROOT/bin/images/debs).")
	flag.StringVar(&o.goCmd, "go", "go", "The go command that builds the binaries.")
	flag.StringVar(&o.registry, "registry", "ghcr.io/plinth-dev", "Registry and namespace of the image names.")
	flag.StringVar(&o.tag, "tag", "", "Image tag (default: -version).")
	flag.StringVar(&o.version, "version", "dev", "Version stamped into the binaries and the image labels.")
	flag.StringVar(&o.source, "source", "https://github.com/plinth-dev/plinth", "The org.opencontainers.image.source label.")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "Target architecture (GOARCH); the node image needs a host apt of the same one.")
	flag.StringVar(&images, "images", strings.Join(imageNames(false), ","), "Comma-separated images to build, of "+strings.Join(imageNames(true), ", ")+"; the test images only when named.")
	flag.Parse()
	o.images = strings.Split(images, ",")
	return o
}

// complete fills the defaults that depend on other options.
func (o *options) complete() error {
	root, err := filepath.Abs(o.root)
	if err != nil {
		return fmt.Errorf("failed to resolve -root: %w", err)
	}
	o.root = root
	if o.out == "" {
		o.out = filepath.Join(root, "bin", "images")
	}
	if o.cache == "" {
		o.cache = filepath.Join(root, "bin", "images", "debs")
	}
	if o.tag == "" {
		o.tag = o.version
	}
	o.created, err = sourceDateEpoch()
	return err
}

// sourceDateEpoch is the time stamped on every file and on the images:
// $SOURCE_DATE_EPOCH (reproducible-builds.org) or the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to parse SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("images: ")
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o *options) error {
	if err := o.complete(); err != nil {
		return err
	}
	specs, err := selectSpecs(o.images)
	if err != nil {
		return err
	}
	start := time.Now()
	paths, err := buildAll(ctx, o, specs)
	if err != nil {
		return err
	}
	for _, p := range paths {
		log.Printf("wrote %s (%s)", p, fileSize(p))
	}
	log.Printf("built %d images in %s", len(paths), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// fileSize is the size of path in MiB, for the log.
func fileSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}
