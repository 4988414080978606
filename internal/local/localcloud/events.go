package localcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
)

// EventTarget receives a matched event as EventBridge delivers it to a rule's target: the whole
// event JSON, on its own goroutine, after the event happened. It runs on a background goroutine
// that Close waits for, so it must return when ctx ends. An error is a failed delivery (the target
// answered 5xx, was throttled or unreachable): it is retried, as EventBridge's retry policy does.
type EventTarget func(ctx context.Context, event []byte) error

// Event deliveries are retried every eventRetryInterval for up to eventRetryFor. EventBridge's
// default policy retries with backoff for 24 hours and 185 attempts; the local bound keeps a
// target that never comes back from outliving a test.
const (
	eventRetryInterval = time.Second
	eventRetryFor      = 2 * time.Minute
)

type eventRule struct {
	region, name string
	pattern      map[string]any
	target       EventTarget
}

// eventBus is the default EventBridge bus of each region, fed by the services' own events
// (CloudWatch alarm state changes).
type eventBus struct {
	mu    sync.Mutex
	rules []eventRule
}

// AddEventRule adds a rule on the default event bus of region: every event of that region that
// matches pattern (EventBridge's event pattern JSON) goes to target. Patterns are matched as
// EventBridge matches exact values: each field's array lists the accepted values, and nested
// objects match nested fields; content filters ({"prefix": ...}, {"anything-but": ...}) are
// refused rather than ignored.
func (s *Server) AddEventRule(region, name string, pattern []byte, target EventTarget) error {
	var p map[string]any
	if err := eventjson.Unmarshal(pattern, &p); err != nil {
		return fmt.Errorf("localcloud: rule %s: event pattern is not a JSON object: %w", name, err)
	}
	if err := checkPattern(p, ""); err != nil {
		return fmt.Errorf("localcloud: rule %s: %w", name, err)
	}
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	s.events.rules = append(s.events.rules, eventRule{region: region, name: name, pattern: p, target: target})
	return nil
}

func checkPattern(p map[string]any, at string) error {
	for k, v := range p {
		switch x := v.(type) {
		case map[string]any:
			if err := checkPattern(x, at+k+"."); err != nil {
				return err
			}
		case []any:
			if len(x) == 0 {
				return fmt.Errorf("event pattern field %s%s: an empty array matches nothing", at, k)
			}
			for _, e := range x {
				switch e.(type) {
				case string, float64, bool, nil:
				default:
					return fmt.Errorf("event pattern field %s%s: localcloud matches exact values only, not content filters like %v", at, k, e)
				}
			}
		default:
			return fmt.Errorf("event pattern field %s%s: values must be arrays or objects, not %v", at, k, v)
		}
	}
	return nil
}

// putEvent sends a service event to the region's default bus.
func (s *Server) putEvent(region, source, detailType string, resources []string, detail map[string]any) {
	ev := map[string]any{"version": "0", "id": newUUID(), "detail-type": detailType, "source": source,
		"account": s.account, "time": time.Now().UTC().Format(time.RFC3339), "region": region,
		"resources": stringsAny(resources), "detail": detail}
	body, err := json.Marshal(ev)
	if err != nil {
		s.log.Warn("localcloud: encode event", "error", err.Error())
		return
	}
	// Match against the event as JSON sees it, so numbers and nesting compare as EventBridge's do.
	var generic map[string]any
	json.Unmarshal(body, &generic) //nolint:errcheck // just marshalled
	s.events.mu.Lock()
	var targets []EventTarget
	for _, r := range s.events.rules {
		if r.region == region && matches(r.pattern, generic) {
			targets = append(targets, r.target)
		}
	}
	s.events.mu.Unlock()
	for _, t := range targets {
		s.goBackground(func(ctx context.Context) { s.deliverEvent(ctx, t, body) })
	}
}

// deliverEvent hands body to target, again after each failed delivery, until one succeeds, the
// retry period ends or the server closes.
func (s *Server) deliverEvent(ctx context.Context, target EventTarget, body []byte) {
	deadline := time.Now().Add(eventRetryFor)
	for {
		err := target(ctx, body)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.log.Warn("localcloud: event delivery failed; giving up", "error", err.Error())
			return
		}
		if !sleep(ctx, eventRetryInterval) {
			return
		}
	}
}

// matches reports whether event holds every field of pattern with one of its values.
func matches(pattern, event map[string]any) bool {
	for k, pv := range pattern {
		ev, present := event[k]
		if !present {
			return false
		}
		switch p := pv.(type) {
		case map[string]any:
			em, ok := ev.(map[string]any)
			if !ok || !matches(p, em) {
				return false
			}
		case []any:
			if !anyEqual(p, ev) {
				return false
			}
		}
	}
	return true
}

// anyEqual reports whether v (or, for an array, one of its elements) equals an accepted value.
func anyEqual(accepted []any, v any) bool {
	values, isList := v.([]any)
	if !isList {
		values = []any{v}
	}
	for _, a := range accepted {
		for _, x := range values {
			if a == x {
				return true
			}
		}
	}
	return false
}
