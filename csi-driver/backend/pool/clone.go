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

package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// copyChunk bounds one copy_file_range call so a cancelled context is noticed.
const copyChunk = 64 << 20

// cloneFile puts a copy of src at dst, whole or not at all (atomicfile), and
// reports whether it used a reflink. The temporary copy lies next to dst, on
// the pool's filesystem, where src is too: a reflink needs both on one.
func cloneFile(ctx context.Context, src, dst string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, fmt.Errorf("failed to open %s: %w", src, err)
	}
	defer func() { _ = in.Close() }()
	var reflinked bool
	err = atomicfile.WriteFunc(dst, filePerm, func(out *os.File) error {
		var err error
		reflinked, err = cloneInto(ctx, in, out)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("failed to copy %s to %s: %w", src, dst, err)
	}
	return reflinked, nil
}

func cloneInto(ctx context.Context, in, out *os.File) (bool, error) {
	reflinked, err := reflink(in, out)
	if err != nil || reflinked {
		return reflinked, err
	}
	return false, sparseCopy(ctx, in, out)
}

// reflink makes out share the extents of in. It reports false without an
// error when the filesystem cannot share extents, so the caller copies.
func reflink(in, out *os.File) (bool, error) {
	err := unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
	if err == nil {
		return true, nil
	}
	if !reflinkUnsupported(err) {
		return false, fmt.Errorf("failed to reflink: %w", err)
	}
	return false, nil
}

// reflinkUnsupported reports whether FICLONE failed because the filesystem
// cannot share extents, as opposed to a real I/O error.
func reflinkUnsupported(err error) bool {
	for _, e := range []error{unix.EOPNOTSUPP, unix.ENOTSUP, unix.EXDEV, unix.EINVAL, unix.ENOTTY, unix.ENOSYS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// sparseCopy copies the allocated ranges of in to out and leaves holes as
// holes, so a mostly empty volume costs only what it holds.
func sparseCopy(ctx context.Context, in, out *os.File) error {
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("failed to stat source: %w", err)
	}
	size := info.Size()
	if err := out.Truncate(size); err != nil {
		return fmt.Errorf("failed to size destination: %w", err)
	}
	for off := int64(0); off < size; {
		start, end, err := nextData(in, off, size)
		if err != nil || start >= size {
			return err
		}
		if err := copyRange(ctx, in, out, start, end); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// nextData returns the next allocated range at or after off.
func nextData(f *os.File, off, size int64) (start, end int64, err error) {
	fd := int(f.Fd())
	start, err = unix.Seek(fd, off, unix.SEEK_DATA)
	if errors.Is(err, unix.ENXIO) {
		return size, size, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("failed to seek data: %w", err)
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err != nil {
		return 0, 0, fmt.Errorf("failed to seek hole: %w", err)
	}
	return start, end, nil
}

func copyRange(ctx context.Context, in, out *os.File, start, end int64) error {
	for start < end {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("failed to finish copy: %w", err)
		}
		roff, woff := start, start
		n, err := unix.CopyFileRange(int(in.Fd()), &roff, int(out.Fd()), &woff, int(min(end-start, copyChunk)), 0)
		if err != nil {
			return fmt.Errorf("failed to copy range at %d: %w", start, err)
		}
		if n == 0 {
			return fmt.Errorf("failed to copy range at %d: %w", start, io.ErrUnexpectedEOF)
		}
		start += int64(n)
	}
	return nil
}
