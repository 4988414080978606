package lambdahost

import (
	"fmt"
	"strings"
)

// routeTarget is a route and the function that owns it.
type routeTarget struct {
	route    Route
	function string
	segs     []segment
}

type segmentKind int

// Ordered by precedence: API Gateway prefers a literal segment to a parameter, and a parameter to
// a greedy parameter.
const (
	literal segmentKind = iota
	param
	greedy
)

type segment struct {
	kind segmentKind
	text string // the literal, or the parameter's name
}

// router picks the route for a request with API Gateway HTTP API precedence: the most specific
// path wins, then a route naming the method over ANY.
type router struct{ routes []routeTarget }

var httpMethods = map[string]bool{"ANY": true, "GET": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "HEAD": true, "OPTIONS": true}

func newRouter(targets []routeTarget) (*router, error) {
	seen := map[string]string{}
	for i := range targets {
		t := &targets[i]
		t.route.Method = strings.ToUpper(t.route.Method)
		if !httpMethods[t.route.Method] {
			return nil, fmt.Errorf("lambdahost: function %s: route method %q: use ANY or an HTTP method", t.function, t.route.Method)
		}
		if !strings.HasPrefix(t.route.Path, "/") {
			return nil, fmt.Errorf("lambdahost: function %s: route path %q must start with /", t.function, t.route.Path)
		}
		parts := strings.Split(strings.TrimPrefix(t.route.Path, "/"), "/")
		for j, p := range parts {
			switch {
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
				if j != len(parts)-1 {
					return nil, fmt.Errorf("lambdahost: function %s: route %s: a greedy parameter must be the last segment", t.function, t.route.Path)
				}
				t.segs = append(t.segs, segment{greedy, p[1 : len(p)-2]})
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
				t.segs = append(t.segs, segment{param, p[1 : len(p)-1]})
			default:
				t.segs = append(t.segs, segment{literal, p})
			}
		}
		key := t.route.Method + " " + t.route.Path
		if other, dup := seen[key]; dup {
			return nil, fmt.Errorf("lambdahost: route %s is claimed by both %s and %s", key, other, t.function)
		}
		seen[key] = t.function
	}
	return &router{routes: targets}, nil
}

// match returns the route for method and path (decoded), and its path parameters.
func (rt *router) match(method, path string) (*routeTarget, map[string]string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *routeTarget
	for i := range rt.routes {
		t := &rt.routes[i]
		if t.route.Method != method && t.route.Method != "ANY" {
			continue
		}
		if !t.matches(parts) {
			continue
		}
		if best == nil || t.moreSpecific(best) {
			best = t
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, best.params(parts)
}

func (t *routeTarget) matches(parts []string) bool {
	for i, s := range t.segs {
		if s.kind == greedy {
			return len(parts) > i && strings.Join(parts[i:], "/") != ""
		}
		if i >= len(parts) {
			return false
		}
		if s.kind == literal && parts[i] != s.text || s.kind == param && parts[i] == "" {
			return false
		}
	}
	return len(parts) == len(t.segs)
}

func (t *routeTarget) moreSpecific(o *routeTarget) bool {
	for i := 0; i < len(t.segs) && i < len(o.segs); i++ {
		if t.segs[i].kind != o.segs[i].kind {
			return t.segs[i].kind < o.segs[i].kind
		}
	}
	if len(t.segs) != len(o.segs) {
		return len(t.segs) > len(o.segs)
	}
	return o.route.Method == "ANY" && t.route.Method != "ANY"
}

func (t *routeTarget) params(parts []string) map[string]string {
	var ps map[string]string
	for i, s := range t.segs {
		if s.kind == literal {
			continue
		}
		if ps == nil {
			ps = map[string]string{}
		}
		if s.kind == greedy {
			ps[s.text] = strings.Join(parts[i:], "/")
		} else {
			ps[s.text] = parts[i]
		}
	}
	return ps
}
