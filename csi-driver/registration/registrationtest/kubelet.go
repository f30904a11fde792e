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

// Package registrationtest plays the kubelet's plugin watcher in tests: it
// watches a plugins_registry directory with inotify, as the kubelet does,
// and registers the CSI driver of every registration socket created there
// (GetInfo, NodeGetInfo on the announced endpoint, NotifyRegistrationStatus).
// A socket created anew, as after a plugin restart or a change of the node's
// topology, is registered anew: inotify reports every creation, however
// quickly it follows the removal of the old socket.
package registrationtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/util/wait"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

const (
	// retryInterval spaces out attempts at a failed registration.
	retryInterval = 50 * time.Millisecond
	callTimeout   = 30 * time.Second
)

// RegisterFunc does what the kubelet does with a registering driver's
// NodeGetInfo answer, such as labelling the Node and updating its CSINode;
// nil does nothing.
type RegisterFunc func(ctx context.Context, driver string, info *csi.NodeGetInfoResponse) error

// Kubelet registers the drivers whose sockets appear in one directory.
type Kubelet struct {
	dir      string
	register RegisterFunc
	log      logr.Logger

	registrations atomic.Int64
	mu            sync.Mutex
	last          *csi.NodeGetInfoResponse
	done          sync.WaitGroup
}

// Start watches dir, created when missing, until ctx is done. Sockets
// already in dir are registered too.
func Start(ctx context.Context, dir string, register RegisterFunc, log logr.Logger) (*Kubelet, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("failed to create plugin registry %s: %w", dir, err)
	}
	events, err := watchCreations(ctx, dir)
	if err != nil {
		return nil, err
	}
	existing, err := sockets(dir)
	if err != nil {
		return nil, err
	}
	k := &Kubelet{dir: dir, register: register, log: log}
	k.done.Go(func() { k.run(ctx, events, existing) })
	return k, nil
}

// Registrations is how many registrations succeeded.
func (k *Kubelet) Registrations() int64 {
	return k.registrations.Load()
}

// NodeInfo is the NodeGetInfo answer of the last successful registration.
func (k *Kubelet) NodeInfo() *csi.NodeGetInfoResponse {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last
}

// WaitForRegistration waits until more than after registrations succeeded,
// or until timeout passes.
func (k *Kubelet) WaitForRegistration(ctx context.Context, after int64, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, retryInterval, timeout, true, func(context.Context) (bool, error) {
		return k.registrations.Load() > after, nil
	})
	if err != nil {
		return fmt.Errorf("no registration in %s after the %d-th: %w", k.dir, after, err)
	}
	return nil
}

// Wait returns once the Kubelet stopped, after Start's context is done.
func (k *Kubelet) Wait() {
	k.done.Wait()
}

// run registers each created socket, retrying failed ones, until ctx is done.
func (k *Kubelet) run(ctx context.Context, events <-chan string, pending map[string]bool) {
	var retry <-chan time.Time
	for {
		for path := range pending {
			if err := k.registerSocket(ctx, path); err != nil {
				k.log.V(1).Info("Plugin registration failed, retrying", "socket", path, "error", err.Error())
				continue
			}
			delete(pending, path)
		}
		retry = nil
		if len(pending) > 0 {
			retry = time.After(retryInterval)
		}
		select {
		case <-ctx.Done():
			return
		case path, ok := <-events:
			if !ok {
				return
			}
			pending[path] = true
		case <-retry:
		}
	}
}

// registerSocket asks the plugin what it is, registers its driver and tells
// the plugin the outcome. A file that is no socket, or gone again, needs
// nothing more.
func (k *Kubelet) registerSocket(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSocket == 0) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	conn, err := dial(path)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	plugin := registerapi.NewRegistrationClient(conn)
	info, err := plugin.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		return fmt.Errorf("failed to get plugin info: %w", err)
	}
	regErr := k.registerCSI(ctx, info)
	status := &registerapi.RegistrationStatus{PluginRegistered: regErr == nil}
	if regErr != nil {
		status.Error = regErr.Error()
	}
	if _, err := plugin.NotifyRegistrationStatus(ctx, status); err != nil {
		return errors.Join(regErr, fmt.Errorf("failed to notify the plugin: %w", err))
	}
	return regErr
}

// registerCSI calls NodeGetInfo on the driver's endpoint and registers it.
func (k *Kubelet) registerCSI(ctx context.Context, info *registerapi.PluginInfo) error {
	if info.GetType() != registerapi.CSIPlugin {
		return fmt.Errorf("plugin %s has type %q, only %s is supported", info.GetName(), info.GetType(), registerapi.CSIPlugin)
	}
	conn, err := dial(info.GetEndpoint())
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	nodeInfo, err := csi.NewNodeClient(conn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		return fmt.Errorf("failed to get node info from driver %s: %w", info.GetName(), err)
	}
	if k.register != nil {
		if err := k.register(ctx, info.GetName(), nodeInfo); err != nil {
			return err
		}
	}
	k.mu.Lock()
	k.last = nodeInfo
	k.mu.Unlock()
	k.registrations.Add(1)
	k.log.Info("Registered CSI driver", "driver", info.GetName(), "topology", nodeInfo.GetAccessibleTopology().GetSegments())
	return nil
}

// sockets returns the sockets in dir.
func sockets(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list plugin registry %s: %w", dir, err)
	}
	found := map[string]bool{}
	for _, e := range entries {
		if e.Type()&fs.ModeSocket != 0 {
			found[filepath.Join(dir, e.Name())] = true
		}
	}
	return found, nil
}

// watchCreations reports the path of every file created in dir until ctx
// is done.
func watchCreations(ctx context.Context, dir string) (<-chan string, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("failed to start inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("failed to watch %s: %w", dir, err)
	}
	// A non-blocking descriptor makes a pollable File, whose Close ends
	// a blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	context.AfterFunc(ctx, func() { _ = f.Close() })
	events := make(chan string, 16)
	go func() {
		defer close(events)
		buf := make([]byte, 64*1024)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for _, name := range eventNames(buf[:n]) {
				select {
				case events <- filepath.Join(dir, name):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return events, nil
}

// eventNames parses inotify events: a 16-byte header (watch, mask, cookie,
// name length) followed by the NUL-padded name.
func eventNames(buf []byte) []string {
	var names []string
	for len(buf) >= unix.SizeofInotifyEvent {
		nameLen := int(binary.NativeEndian.Uint32(buf[12:16]))
		end := unix.SizeofInotifyEvent + nameLen
		if end > len(buf) {
			break
		}
		if name := string(bytes.TrimRight(buf[unix.SizeofInotifyEvent:end], "\x00")); name != "" {
			names = append(names, name)
		}
		buf = buf[end:]
	}
	return names
}

func dial(path string) (*grpc.ClientConn, error) {
	path = strings.TrimPrefix(path, "unix://")
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("failed to connect to %s: %w", path, err)
	}
	return conn, nil
}
