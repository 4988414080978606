package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
)

// maxBootstrapBytes is the size budget of the deployed linux/arm64 bootstrap: 16 MB.
const maxBootstrapBytes = 16_000_000

// BenchmarkBootstrapSize builds the function exactly as `sam build` does — its builder runs
// `make --makefile <root>/Makefile build-TodoApiFunction` in the project root with ARTIFACTS_DIR set
// (BuildMethod makefile, ContextPath and WorkingDirectory ".") — and reports the artifact's size; it
// fails over budget or when the artifact is not a static arm64 executable. It is a benchmark so that `make test` does not pay for a cross-compile.
func BenchmarkBootstrapSize(b *testing.B) {
	root, err := devtools.Root()
	if err != nil {
		b.Fatal(err)
	}
	artifacts := b.TempDir()
	cmd := exec.Command("make", "--makefile", filepath.Join(root, "Makefile"), "build-TodoApiFunction")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+artifacts)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("make build-TodoApiFunction: %v\n%s", err, msg)
	}
	bin := filepath.Join(artifacts, "bootstrap")
	st, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	// What Lambda runs: an arm64 executable that needs no dynamic loader (CGO off whatever the
	// builder's shell says).
	f, err := elf.Open(bin)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		b.Errorf("bootstrap is built for %v, want arm64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b.Error("bootstrap is dynamically linked: the build must set CGO_ENABLED=0")
		}
	}
	for b.Loop() {
		// The measurement is the build above; the loop only satisfies the benchmark protocol.
	}
	b.ReportMetric(float64(st.Size())/1e6, "MB")
	if st.Size() > maxBootstrapBytes {
		b.Fatalf("bootstrap is %d bytes, over the %d-byte budget", st.Size(), maxBootstrapBytes)
	}
}
