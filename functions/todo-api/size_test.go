package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxBootstrapBytes is the size budget of the deployed linux/arm64 bootstrap: 16 MB.
const maxBootstrapBytes = 16_000_000

// BenchmarkBootstrapSize builds the function as deployed and reports its size; it fails over budget.
// It is a benchmark so that `make test` does not pay for a cross-compile.
func BenchmarkBootstrapSize(b *testing.B) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("go not on PATH: %v", err)
	}
	out := filepath.Join(b.TempDir(), "bootstrap")
	cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, msg)
	}
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		// The measurement is the build above; the loop only satisfies the benchmark protocol.
	}
	b.ReportMetric(float64(st.Size())/1e6, "MB")
	if st.Size() > maxBootstrapBytes {
		b.Fatalf("bootstrap is %d bytes, over the %d-byte budget", st.Size(), maxBootstrapBytes)
	}
}
