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

package orphans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/csiconn"
)

// csiVolumesDir is where, under a pod's directory, kubelet keeps the CSI
// volumes of the pod, one directory per volume of the pod's spec.
const csiVolumesDir = "volumes/kubernetes.io~csi"

// volData is the part of kubelet's vol_data.json, written next to each CSI
// volume's mount point, that the sweep reads.
type volData struct {
	DriverName          string `json:"driverName"`
	VolumeHandle        string `json:"volumeHandle"`
	VolumeLifecycleMode string `json:"volumeLifecycleMode"`
}

// inlineVolume is an inline volume of this driver that kubelet published.
type inlineVolume struct {
	podUID string
	handle string
	target string
}

// inlineCandidates returns the inline volumes of this driver under the
// kubelet's pods directory whose pod does not run on this node.
func (s *Sweeper) inlineCandidates(ctx context.Context) ([]inlineVolume, error) {
	if s.KubeletDir == "" {
		return nil, nil
	}
	vols, err := s.publishedInline()
	if err != nil || len(vols) == 0 {
		return nil, err
	}
	pods, err := s.podsOfNode(ctx)
	if err != nil {
		return nil, err
	}
	var out []inlineVolume
	for _, v := range vols {
		if !pods[v.podUID] {
			out = append(out, v)
		}
	}
	return out, nil
}

// publishedInline reads kubelet's records of the inline volumes of this
// driver.
func (s *Sweeper) publishedInline() ([]inlineVolume, error) {
	files, err := filepath.Glob(filepath.Join(s.KubeletDir, "pods", "*", csiVolumesDir, "*", "vol_data.json"))
	if err != nil {
		return nil, fmt.Errorf("failed to list kubelet's CSI volumes: %w", err)
	}
	var out []inlineVolume
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // unpublished meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", f, err)
		}
		var vd volData
		if json.Unmarshal(data, &vd) != nil || vd.DriverName != s.DriverName || vd.VolumeLifecycleMode != "Ephemeral" || vd.VolumeHandle == "" {
			continue
		}
		dir := filepath.Dir(f)
		podUID := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(dir))))
		out = append(out, inlineVolume{podUID: podUID, handle: vd.VolumeHandle, target: filepath.Join(dir, "mount")})
	}
	return out, nil
}

// podsOfNode returns the UIDs of the pods bound to this node.
func (s *Sweeper) podsOfNode(ctx context.Context) (map[string]bool, error) {
	pods := &corev1.PodList{}
	if err := s.Reader.List(ctx, pods, client.MatchingFields{"spec.nodeName": s.NodeName}); err != nil {
		return nil, fmt.Errorf("failed to list the pods of node %s: %w", s.NodeName, err)
	}
	uids := map[string]bool{}
	for _, p := range pods.Items {
		uids[string(p.UID)] = true
	}
	return uids, nil
}

// handleInline reports an orphaned inline volume and unpublishes it as
// kubelet would have: the driver unmounts it and deletes its backing
// volume. kubelet's vol_data.json proves the volume is this driver's
// inline volume, and the pod's absence for the grace period that it is
// orphaned.
func (s *Sweeper) handleInline(ctx context.Context, v inlineVolume, rep *Report) {
	s.reportOnce(kindInline+"/"+v.target, "Inline volume %s of pod %s is still published at %s on node %s, but the pod is gone",
		v.handle, v.podUID, v.target, s.NodeName)
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	_, err := s.Node.NodeUnpublishVolume(callCtx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.handle, TargetPath: v.target})
	if err != nil {
		s.event(corev1.EventTypeWarning, ReasonOrphanedVolumeDeleteFail, "Unpublishing orphaned inline volume %s at %s failed: %v", v.handle, v.target, err)
		return
	}
	rep.Deleted = append(rep.Deleted, v.target)
	s.event(corev1.EventTypeNormal, ReasonOrphanedVolumeDeleted, "Unpublished orphaned inline volume %s of pod %s", v.handle, v.podUID)
}
