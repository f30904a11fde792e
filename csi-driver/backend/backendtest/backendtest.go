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

package backendtest

import (
	"testing"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/test/prereq"
)

// defaultFSType is the filesystem of volumes when FSType is not given, as in
// the driver.
const defaultFSType = "ext4"

// target is one backend configuration the checks run against.
type target struct {
	name       string
	newBackend func(t *testing.T) backend.Backend
	fsType     string
}

// settings are what the options of one Run, or of one With, set.
type settings struct {
	target
	more []target // the targets With added
}

// Option configures Run.
type Option func(*settings)

// Name labels the backend in test names and in the sanity summary; the
// default is "backend".
func Name(name string) Option {
	return func(s *settings) { s.name = name }
}

// FSType is the filesystem the driver formats volumes with, "ext4" (the
// default) or "xfs".
func FSType(fsType string) Option {
	return func(s *settings) { s.fsType = fsType }
}

// With checks another backend in the same Run, configured by opts (give it
// a Name of its own). Use it for a second configuration of one backend, or
// for the same backend with volumes in another filesystem.
func With(newBackend func(t *testing.T) backend.Backend, opts ...Option) Option {
	return func(s *settings) {
		w := configure(newBackend, opts)
		s.more = append(append(s.more, w.target), w.more...)
	}
}

func configure(newBackend func(t *testing.T) backend.Backend, opts []Option) settings {
	s := settings{target: target{name: "backend", newBackend: newBackend, fsType: defaultFSType}}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// Run checks the backends that newBackend, and the With options, make. Each
// call of newBackend must return a fresh, empty backend and release it with
// t.Cleanup; the driver detaches what a failed check left attached before
// that. Ginkgo, which runs csi-sanity, runs one suite per process: a second
// call of Run in a test binary, such as -count=2 makes, runs its csi-sanity
// in a process of its own, so that every call runs the suite.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend, opts ...Option) {
	t.Helper()
	s := configure(newBackend, opts)
	targets := append([]target{s.target}, s.more...)
	requireTools(t, targets)
	t.Run("data", func(t *testing.T) {
		for _, tg := range targets {
			t.Run(tg.name, func(t *testing.T) { runDataChecks(t, tg) })
		}
	})
	t.Run("sanity", func(t *testing.T) { runSanity(t, targets) })
}

// requireTools skips (or, under CI, fails) the test without root and the
// tools the driver runs for the targets' filesystems.
func requireTools(t *testing.T, targets []target) {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "mount", "umount", "findmnt", "blkid")
	for _, tg := range targets {
		switch tg.fsType {
		case "xfs":
			prereq.Commands(t, "mkfs.xfs", "xfs_growfs")
		default:
			prereq.Commands(t, "mkfs."+tg.fsType, "fsck", "e2fsck", "resize2fs")
		}
	}
}
