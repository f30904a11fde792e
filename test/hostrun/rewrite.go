package hostrun

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// mount maps a container path to the host directory standing for it.
type mount struct {
	containerPath string
	hostPath      string
}

// sortMounts orders mounts longest container path first, so that a nested
// mount wins over the one containing it.
func sortMounts(mounts []mount) {
	slices.SortFunc(mounts, func(a, b mount) int { return len(b.containerPath) - len(a.containerPath) })
}

// rewritePaths replaces a mount's container path with its host directory
// where s starts with it, or where the value after the first '=' does,
// either possibly after "unix://". The path must be followed by '/' or end
// s, so /csi does not match /csiplugin.
func rewritePaths(s string, mounts []mount) string {
	starts := []int{0}
	if i := strings.IndexByte(s, '='); i >= 0 {
		starts = append(starts, i+1)
	}
	for _, start := range starts {
		at := start
		if strings.HasPrefix(s[at:], "unix://") {
			at += len("unix://")
		}
		for _, m := range mounts {
			if rest, ok := strings.CutPrefix(s[at:], m.containerPath); ok && (rest == "" || rest[0] == '/') {
				return s[:at] + m.hostPath + rest
			}
		}
	}
	return s
}

// rewritePort replaces an address ending in ":<port>", where port is a key
// of ports, with 127.0.0.1 and the mapped port. The address starts after
// the first '=' and after a "scheme://", if any.
func rewritePort(s string, ports map[int32]int32) string {
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 {
		return s
	}
	port, err := strconv.ParseUint(s[colon+1:], 10, 16)
	if err != nil {
		return s
	}
	mapped, ok := ports[int32(port)]
	if !ok {
		return s
	}
	start := 0
	if i := strings.IndexByte(s, '='); i >= 0 && i < colon {
		start = i + 1
	}
	if i := strings.Index(s[start:colon], "://"); i >= 0 {
		start += i + len("://")
	}
	return s[:start] + "127.0.0.1:" + strconv.Itoa(int(mapped))
}

// expand substitutes $(NAME) with the value of a defined variable, as
// Kubernetes does in command, args and env values: "$$" is an escaped "$",
// and a reference to an undefined variable is kept as it is.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			ref := s[i : i+3+end]
			if value, ok := lookup(ref[2 : len(ref)-1]); ok {
				b.WriteString(value)
			} else {
				b.WriteString(ref)
			}
			i += len(ref) - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// imageBinary returns the last element of an image's repository:
// "ghcr.io/plinth-dev/plinth-node:v1" names plinth-node.
func imageBinary(image string) string {
	image, _, _ = strings.Cut(image, "@")
	name := path.Base(image)
	name, _, _ = strings.Cut(name, ":")
	return name
}
