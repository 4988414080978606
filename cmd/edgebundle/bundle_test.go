package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/edge"
	"github.com/switchyard-dr/switchyard/internal/local/devtools"
)

const (
	fixtures = "../../events/edge-rewrite"
	golden   = "../../internal/edge/testdata/golden"
	driver   = "testdata/drive.mjs"
)

var (
	bundleOnce  sync.Once
	bundleDir   string
	bundleSizes Sizes
	bundleErr   error
	scratch     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	os.Exit(code)
}

// bundle builds the bundle once per test binary, the way `make build` does.
func bundle(tb testing.TB) (string, Sizes) {
	tb.Helper()
	bundleOnce.Do(func() {
		var root string
		if root, bundleErr = devtools.Root(); bundleErr != nil {
			return
		}
		if scratch, bundleErr = os.MkdirTemp("", "edgebundle-test-"); bundleErr != nil {
			return
		}
		bundleDir = filepath.Join(scratch, "edge-rewrite-edge")
		bundleSizes, bundleErr = Build(context.Background(), root, bundleDir)
	})
	if bundleErr != nil {
		tb.Fatalf("build the bundle: %v", bundleErr)
	}
	return bundleDir, bundleSizes
}

// requireNode returns Node.js 22; without it the test fails under CI and is skipped elsewhere.
func requireNode(tb testing.TB) string {
	tb.Helper()
	node, err := devtools.Node()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("CI needs Node.js 22 to test the Lambda@Edge bundle: %v", err)
		}
		tb.Skipf("skipping the Lambda@Edge bundle under Node: %v", err)
	}
	return node
}

// drive runs testdata/drive.mjs and returns its JSON lines; anything on stderr is a failure,
// because Lambda@Edge logs it for every cold start.
func drive(tb testing.TB, node, dir string, args ...string) []map[string]any {
	tb.Helper()
	cmd := exec.Command(node, append([]string{driver, dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("node %s %s: %v\nstderr:\n%s", driver, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Errorf("the bundle wrote to stderr:\n%s", stderr.String())
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("driver printed %q: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read the driver's output: %v", err)
	}
	return lines
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// TestBundleMatchesNative runs the bundle under Node over every fixture and compares each answer
// with the native handler's golden output, plus malformed events against the native handler live.
func TestBundleMatchesNative(t *testing.T) {
	node := requireNode(t)
	dir, _ := bundle(t)
	events, err := filepath.Glob(filepath.Join(fixtures, "*.json"))
	if err != nil || len(events) == 0 {
		t.Fatalf("no fixtures in %s (err %v)", fixtures, err)
	}
	want := map[string]any{}
	for _, ev := range events {
		b, err := os.ReadFile(filepath.Join(golden, filepath.Base(ev)))
		if err != nil {
			t.Fatalf("%v: run `go test ./internal/edge -run TestHandleGolden -update` first", err)
		}
		want[ev] = decode(t, b)
	}
	// Events built here are compared with the native handler live: malformed ones, and one far
	// larger than the module's first input buffer (a 1 MB body, the most CloudFront includes).
	custom, err := os.ReadFile(filepath.Join(fixtures, "custom-origin.json"))
	if err != nil {
		t.Fatal(err)
	}
	large := strings.Replace(string(custom), `"method": "GET",`,
		`"method": "POST", "body": {"inputTruncated": false, "action": "read-only", "encoding": "base64", "data": "`+
			strings.Repeat("QUJD", 1<<18)+`"},`, 1)
	native := lambda.NewHandler((&edge.Handler{}).Handle)
	for name, event := range map[string]string{
		"malformed-records": `{"Records":"none"}`,
		"malformed-headers": `{"Records":[{"cf":{"request":{"headers":{"host":"not a list"}}}}]}`,
		"large-body":        large,
	} {
		path := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(path, []byte(event), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := native.Invoke(context.Background(), []byte(event))
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			want[path] = map[string]any{"errorType": "UnmarshalTypeError", "errorMessage": err.Error()}
		case err != nil:
			t.Fatalf("native handler on %s: %v", name, err)
		default:
			want[path] = decode(t, out)
		}
		events = append(events, path)
	}

	lines := drive(t, node, dir, append([]string{"run"}, events...)...)
	if len(lines) != len(events) {
		t.Fatalf("driver answered %d events, want %d", len(lines), len(events))
	}
	for _, line := range lines {
		file, _ := line["file"].(string)
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			if !reflect.DeepEqual(line["answer"], want[file]) {
				got, _ := json.MarshalIndent(line["answer"], "", "  ")
				exp, _ := json.MarshalIndent(want[file], "", "  ")
				t.Errorf("WASM answer differs from the native one\ngot:\n%s\nwant:\n%s", got, exp)
			}
		})
	}
}

// TestBundleZip: the zip holds exactly the loader, its manifest and the module, world-readable, with the same
// bytes as the directory, and the same sources give the same zip.
func TestBundleZip(t *testing.T) {
	dir, sizes := bundle(t)
	zr, err := zip.OpenReader(dir + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Mode().Perm() != 0o644 {
			t.Errorf("%s mode = %v, want -rw-r--r--", f.Name, f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), onDisk) {
			t.Errorf("%s in the zip differs from %s", f.Name, filepath.Join(dir, f.Name))
		}
	}
	if want := bundleFiles; !reflect.DeepEqual(names, want) {
		t.Errorf("zip holds %v, want %v", names, want)
	}
	loader, err := os.ReadFile(filepath.Join("..", "..", loaderDir, LoaderName))
	if err != nil {
		t.Fatal(err)
	}
	if sizes.Loader != len(loader) || sizes.WASM == 0 || sizes.WASMGzip == 0 || sizes.ZipBytes == 0 {
		t.Errorf("sizes %+v do not describe the bundle (loader is %d bytes)", sizes, len(loader))
	}
	files := map[string][]byte{LoaderName: loader, ManifestName: []byte("{}"), WASMName: []byte("module")}
	a, err := zipBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := zipBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("zipping the same files twice gave different zips")
	}
}

// BenchmarkWASMCall reports the mean time of one handler call under Node (JSON in and out of the
// module included) as ns/call; the target is ≤ 100 µs.
func BenchmarkWASMCall(b *testing.B) {
	node := requireNode(b)
	dir, _ := bundle(b)
	b.ResetTimer()
	lines := drive(b, node, dir, "calls", strconv.Itoa(max(b.N, 100)), filepath.Join(fixtures, "repeated-headers.json"))
	ns, _ := lines[0]["nsPerCall"].(float64)
	b.ReportMetric(ns, "ns/call")
}

// BenchmarkWASMInstantiate reports the time a fresh Node process takes to load the bundle (read,
// compile and instantiate the module, initialise WASI) as ms/instantiate; the target is ≤ 40 ms.
func BenchmarkWASMInstantiate(b *testing.B) {
	node := requireNode(b)
	dir, _ := bundle(b)
	b.ResetTimer()
	var total float64
	for range b.N {
		lines := drive(b, node, dir, "import")
		ms, _ := lines[0]["importMs"].(float64)
		total += ms
	}
	b.ReportMetric(total/float64(b.N), "ms/instantiate")
}

// BenchmarkBundleSize reports the module's gzipped and the zip's size; the target is ≤ 1.5 MB
// gzipped, and exceeding it fails the benchmark.
func BenchmarkBundleSize(b *testing.B) {
	_, sizes := bundle(b)
	for b.Loop() {
	}
	b.ReportMetric(float64(sizes.WASMGzip)/(1<<20), "MB-gzipped")
	b.ReportMetric(float64(sizes.ZipBytes)/(1<<20), "MB-zip")
	b.ReportMetric(float64(sizes.WASM)/(1<<20), "MB-raw")
	if sizes.WASMGzip > 3<<19 {
		b.Errorf("module is %.2f MB gzipped, over the 1.5 MB budget", float64(sizes.WASMGzip)/(1<<20))
	}
}
