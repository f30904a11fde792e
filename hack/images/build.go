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
	"fmt"
	"log"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// buildAll builds the binaries and the layers that specs need, then writes
// one tarball per spec into o.out and returns their paths.
func buildAll(ctx context.Context, o *options, specs []spec) ([]string, error) {
	if err := os.MkdirAll(o.out, 0o750); err != nil {
		return nil, fmt.Errorf("failed to create the output directory: %w", err)
	}
	work, err := os.MkdirTemp(o.out, ".work-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a work directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	bins := filepath.Join(work, "bin")
	for _, m := range modules(specs) {
		bs := binaries(specs, m)
		if len(bs) == 0 {
			continue
		}
		log.Printf("building %v for linux/%s, version %s", bs, o.arch, o.version)
		if err := buildBinaries(ctx, o, m, bs, bins); err != nil {
			return nil, err
		}
	}
	shared, err := sharedLayers(ctx, o, specs, work)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, s := range specs {
		p, err := buildImage(o, s, work, bins, shared)
		if err != nil {
			return nil, fmt.Errorf("failed to build image %s: %w", s.name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// layerKind is a shared layer: what the image history says of it and how
// to write it into a work directory.
type layerKind struct {
	name  string
	what  string
	write func(ctx context.Context, o *options, work string) (v1.Layer, error)
}

// layerKinds are the shared layers, in the order they are built.
var layerKinds = []layerKind{
	{baseLayer, "base files: /etc/passwd, /etc/group, /tmp", writeBaseLayer},
	{debianLayer, "Debian packages of hack/images/packages.txt", writeDebianLayer},
	{busyboxLayer, "Debian's " + busyboxPackage + ", a link for each applet", writeBusyboxLayer},
	{agnhostDebianLayer, "Debian packages of hack/images/agnhost-packages.txt", writeAgnhostDebianLayer},
}

// sharedLayers writes the shared layers that specs use, by kind.
func sharedLayers(ctx context.Context, o *options, specs []spec, work string) (map[string]mutate.Addendum, error) {
	out := map[string]mutate.Addendum{}
	for _, k := range layerKinds {
		if !usesLayer(specs, k.name) {
			continue
		}
		l, err := k.write(ctx, o, work)
		if err != nil {
			return nil, err
		}
		out[k.name] = addendum(l, o, k.what)
	}
	return out, nil
}

func writeBaseLayer(_ context.Context, o *options, work string) (v1.Layer, error) {
	return writeLayer(filepath.Join(work, "base.tar.gz"), o.created, addBase)
}

// writeDebianLayer resolves, downloads and unpacks the Debian packages of
// packages.txt into one layer.
func writeDebianLayer(ctx context.Context, o *options, work string) (v1.Layer, error) {
	return writeDebs(ctx, o, filepath.Join(work, "debian.tar.gz"), packagesTxt)
}

// writeAgnhostDebianLayer does the same for agnhost-packages.txt.
func writeAgnhostDebianLayer(ctx context.Context, o *options, work string) (v1.Layer, error) {
	return writeDebs(ctx, o, filepath.Join(work, "agnhost-debian.tar.gz"), agnhostPackagesTxt)
}

// writeDebs writes the layer file of the packages that packageList (the
// format of packages.txt) names, with their dependencies.
func writeDebs(ctx context.Context, o *options, file, packageList string) (v1.Layer, error) {
	if err := checkDebArch(ctx, o.arch); err != nil {
		return nil, err
	}
	list, err := parsePackageList(packageList)
	if err != nil {
		return nil, err
	}
	pkgs, err := resolve(ctx, list)
	if err != nil {
		return nil, err
	}
	debs, err := download(ctx, o.cache, pkgs)
	if err != nil {
		return nil, err
	}
	log.Printf("unpacking %d Debian packages", len(debs))
	return writeLayer(file, o.created, func(w *layerWriter) error {
		return addDebs(ctx, w, debs)
	})
}
