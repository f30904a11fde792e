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
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plinth-dev/plinth/csi-driver/driver"
)

// Defaults of the storage limits, the chart's defaults too: a pool on the
// node's root filesystem leaves it more free space than the kubelet's
// default eviction threshold (nodefs.available<10%), and no pod can take
// more than a few GiB of it with inline ephemeral volumes, which no
// ResourceQuota counts.
const (
	defaultPoolReserve        = 2 << 30
	defaultPoolReservePercent = 15
	defaultEphemeralMaxVolume = 1 << 30
	defaultEphemeralMaxTotal  = 4 << 30
)

// bytesFlag is a flag that takes a quantity, such as 2Gi, and stores bytes.
type bytesFlag struct{ p *int64 }

func (f bytesFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return resource.NewQuantity(*f.p, resource.BinarySI).String()
}

func (f bytesFlag) Set(v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("not a quantity such as 2Gi: %w", err)
	}
	if q.Sign() < 0 {
		return fmt.Errorf("%s is negative", v)
	}
	*f.p = q.Value()
	return nil
}

// refusedMountOptions lists the options --allowed-mount-options may name.
func refusedMountOptions() string {
	return strings.Join(slices.Sorted(maps.Keys(driver.RefusedMountOptions)), ", ")
}
