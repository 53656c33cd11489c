// Package envvars resolves a container's environment and expands $(VAR)
// references, as the kubelet does (pkg/kubelet/kubelet_pods.go
// makeEnvironmentVariables, third_party/forked/golang/expansion).
package envvars

import "strings"

// Expand replaces each $(NAME) in s with lookup(NAME) when it is defined and
// leaves it as written otherwise; "$$" is an escaped "$". This is the syntax
// of Kubernetes env values, command and args (see "Define dependent
// environment variables" in the Kubernetes docs).
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
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
			if end <= 0 {
				// "$(" without a name and ")" stays as written.
				b.WriteString(s[i : i+2])
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
