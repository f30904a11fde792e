package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	log.Printf("building %v for linux/%s, version %s", binaries(specs), o.arch, o.version)
	if err := buildBinaries(ctx, o, binaries(specs), bins); err != nil {
		return nil, err
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

// sharedLayers writes the layers that more than one image may use.
func sharedLayers(ctx context.Context, o *options, specs []spec, work string) (layers, error) {
	var l layers
	var err error
	if l.base, err = writeLayer(filepath.Join(work, "base.tar.gz"), o.created, addBase); err != nil {
		return layers{}, err
	}
	if usesDebian(specs) {
		if l.debian, err = debianLayer(ctx, o, work); err != nil {
			return layers{}, err
		}
	}
	return l, nil
}

// debianLayer resolves, downloads and unpacks the Debian packages of
// packages.txt into one layer.
func debianLayer(ctx context.Context, o *options, work string) (v1.Layer, error) {
	if err := checkDebArch(ctx, o.arch); err != nil {
		return nil, err
	}
	list, err := parsePackageList(packagesTxt)
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
	return writeLayer(filepath.Join(work, "debian.tar.gz"), o.created, func(w *layerWriter) error {
		return addDebs(ctx, w, debs)
	})
}
