package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Names inside the bundle; the loader opens the module by WASMName.
const (
	LoaderName   = "index.mjs"
	WASMName     = "edge-rewrite.wasm"
	ManifestName = "package.json" // SAM's Node.js builder needs a manifest in CodeUri

	loaderDir   = "functions/edge-rewrite/loader"
	wasmPackage = "./functions/edge-rewrite/wasm"
)

// Sizes of what Build wrote, in bytes.
type Sizes struct {
	Dir, Zip       string
	WASM, WASMGzip int
	Loader         int
	ZipBytes       int
}

func (s Sizes) String() string {
	return fmt.Sprintf("%s: %s %d bytes (%.2f MB raw, %.2f MB gzipped), %s %d bytes\n%s: %d bytes (%.2f MB)",
		s.Dir, WASMName, s.WASM, mb(s.WASM), mb(s.WASMGzip), LoaderName, s.Loader, s.Zip, s.ZipBytes, mb(s.ZipBytes))
}

func mb(n int) float64 { return float64(n) / (1 << 20) }

// Build compiles the WebAssembly module from the checkout at root, writes it with the loader into
// dir, and zips both into dir.zip for Lambda@Edge.
func Build(ctx context.Context, root, dir string) (Sizes, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Sizes{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Sizes{}, fmt.Errorf("create bundle directory: %w", err)
	}
	wasmPath := filepath.Join(dir, WASMName)
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags", "-s -w",
		"-o", wasmPath, wasmPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Sizes{}, fmt.Errorf("build %s for wasip1/wasm: %w\n%s", wasmPackage, err, out)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return Sizes{}, err
	}
	files := map[string][]byte{WASMName: wasm}
	for _, name := range []string{LoaderName, ManifestName} {
		b, err := os.ReadFile(filepath.Join(root, loaderDir, name))
		if err != nil {
			return Sizes{}, fmt.Errorf("read the loader: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return Sizes{}, err
		}
		files[name] = b
	}
	loader := files[LoaderName]
	zipPath := dir + ".zip"
	zipped, err := zipBundle(files)
	if err != nil {
		return Sizes{}, err
	}
	if err := os.WriteFile(zipPath, zipped, 0o644); err != nil {
		return Sizes{}, err
	}
	gz, err := gzipLen(wasm)
	if err != nil {
		return Sizes{}, err
	}
	return Sizes{Dir: dir, Zip: zipPath, WASM: len(wasm), WASMGzip: gz, Loader: len(loader), ZipBytes: len(zipped)}, nil
}

// bundleFiles is what the bundle holds, in the zip's order.
var bundleFiles = []string{LoaderName, ManifestName, WASMName}

// zipBundle writes the files in a fixed order with a fixed time, so the same sources give the same
// zip and a deploy sees no change when there is none.
func zipBundle(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range bundleFiles {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
		// Lambda runs the code as another user: the files must be world-readable.
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gzipLen(b []byte) (int, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(b); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}
