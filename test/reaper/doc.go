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

// Package reaper makes sure that what a test or a development cluster sets
// up on this machine (processes, mounts, loop devices, network namespaces,
// cgroups, directories) does not outlive the process that set it up, even
// when that process is killed with SIGKILL.
//
// Every process that uses it gets one state file under Root, listing what it
// holds and who it is (PID and start time). Two mechanisms read it:
//
//   - A watchdog: the first Get starts a copy of the running executable in a
//     session of its own, with the read end of a pipe as its standard input.
//     Nobody writes to the pipe; when the owner exits, for whatever reason,
//     the kernel closes the write end, the watchdog reads end-of-file and
//     cleans what the state file still lists. An orderly shutdown removes
//     its entries first, so the watchdog then has nothing to do.
//   - A sweep: Get also cleans the state files of owners that are gone,
//     for the case that the watchdog itself was killed. What it cannot
//     clean yet stays recorded for the next sweep and is reported on
//     stderr; it does not make Get fail, so one leftover does not fail every
//     later test.
//
// The watchdog is the same binary started with an environment variable that
// this package's init function recognises, so it works in test binaries and
// commands alike without a helper binary.
//
// Cleaning is ordered so that each step can succeed: processes first (so
// mount namespaces and open files go), then loop devices, mounts, network
// namespaces, cgroups and finally directories. Every step tolerates what is
// already gone. Loop devices are found by what backs them: a listed file,
// a file on a filesystem mounted from such a device (a pool's volumes), or
// such a device's node (the loop device the kubelet holds a mapped block
// volume open with). Directories whose files still back a device are kept,
// since those files are how the next sweep finds the device.
package reaper
