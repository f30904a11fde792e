package pool

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// detachTimeout bounds the wait for the kernel to complete a detach.
const detachTimeout = 10 * time.Second

// Attach attaches the volume's file to a loop device.
func (p *Pool) Attach(ctx context.Context, id backend.VolumeID) (string, error) {
	if _, err := p.GetVolume(ctx, id); err != nil {
		return "", err
	}
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return "", err
	}
	device, err := findLoop(data)
	if err != nil || device != "" {
		return device, err
	}
	device, err = attachLoop(ctx, data)
	if err != nil {
		return "", err
	}
	p.log.V(1).Info("Attached volume", "volumeID", id, "device", device)
	return device, nil
}

// Detach detaches the volume's loop device, if any.
func (p *Pool) Detach(ctx context.Context, id backend.VolumeID) error {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return err
	}
	device, err := findLoop(data)
	if err != nil || device == "" {
		return err
	}
	if err := detachLoop(ctx, device); err != nil {
		return err
	}
	if err := waitDetached(ctx, data); err != nil {
		return fmt.Errorf("failed to detach %s from volume %s: %w", device, id, err)
	}
	p.log.V(1).Info("Detached volume", "volumeID", id, "device", device)
	return nil
}

// waitDetached waits until no loop device is backed by data. The kernel
// defers a detach while anything holds the device open, and udev briefly
// does after every change event; returning before the detach completes would
// make the next DeleteVolume find the volume still in use.
func waitDetached(ctx context.Context, data string) error {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, detachTimeout, true, func(context.Context) (bool, error) {
		device, err := findLoop(data)
		return device == "", err
	})
	if err != nil {
		return fmt.Errorf("device still in use after %v: %w", detachTimeout, err)
	}
	return nil
}

// Device returns the volume's loop device or backend.ErrNotAttached.
func (p *Pool) Device(_ context.Context, id backend.VolumeID) (string, error) {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return "", err
	}
	device, err := findLoop(data)
	if err != nil {
		return "", err
	}
	if device == "" {
		return "", fmt.Errorf("%w: volume %s", backend.ErrNotAttached, id)
	}
	return device, nil
}
