package edge

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFixturesTakeFastPath: every documented event shape decodes without falling back to
// encoding/json, or the WebAssembly build silently loses its speed.
func TestFixturesTakeFastPath(t *testing.T) {
	paths, err := filepath.Glob("../../events/edge-rewrite/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures (err %v)", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			d := decoder{data: data}
			var ev Event
			if !d.event(&ev) || !d.end() {
				t.Errorf("fell back to encoding/json at byte %d of %d: %q", d.pos, len(data), data[d.pos:min(d.pos+40, len(data))])
			}
		})
	}
}
